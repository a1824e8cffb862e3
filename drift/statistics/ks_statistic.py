"""Two-sample Kolmogorov-Smirnov statistic on the fine buckets.

``D = max_x |F_r(x) - F_b(x)|`` evaluated at every bucket of either side; in [0, 1]. Values
sharing a bucket are ties, so this equals ``scipy.stats.ks_2samp`` on the buckets'
representative values. With windows of 10^4-10^5 events the KS p-value flags differences far
too small to matter, so the statistic itself is thresholded: drift when D > 0.1 (an effect-size
reading of KS, as in whylogs' and NannyML's distance-based monitoring).

Reference: Smirnov (1948), "Table for estimating the goodness of fit of empirical
distributions"; Hodges (1958).
"""

from __future__ import annotations

import numpy as np

from drift.statistics.comparison import Comparison, FloatArray


def ks_statistic(u: FloatArray, v: FloatArray) -> float:
    """Largest CDF gap between weights ``u`` and ``v`` on one sorted support."""
    gap = np.abs(np.cumsum(u) / u.sum() - np.cumsum(v) / v.sum())
    return float(gap.max())


def compute(c: Comparison) -> float:
    if c.support is None:
        raise ValueError("the KS statistic needs a numeric support")
    return ks_statistic(c.support.recent, c.support.baseline)
