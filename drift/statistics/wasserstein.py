"""Wasserstein-1 (earth mover's) distance scaled by the baseline's spread.

``W1 = integral |F_r(x) - F_b(x)| dx`` over the fine buckets' representative values (each
within the histogram's relative accuracy of its values), divided by the baseline's standard
deviation so the number is unit-free: 0.1 means the recent mass moved a tenth of a standard
deviation on average. When the baseline is constant (std 0) the scale falls back to the
magnitude of its value times the relative width (or 1 for a zero baseline), so the score stays
finite. Default drift threshold 0.1 (Evidently's normed Wasserstein).

Reference: Villani (2009), "Optimal Transport", ch. 6; Evidently ``wasserstein_distance_norm``;
``scipy.stats.wasserstein_distance(values, values, recent, baseline)`` computes ``W1``.
"""

from __future__ import annotations

import numpy as np

from drift.statistics.comparison import Comparison, FloatArray, Support


def baseline_spread(values: FloatArray, weights: FloatArray, fallback_width: float) -> float:
    """Weighted standard deviation, or a small positive scale when it is zero."""
    total = weights.sum()
    mean = float(np.dot(values, weights)) / total
    spread = float(np.sqrt(np.dot((values - mean) ** 2, weights) / total))
    return spread if spread > 0 else (abs(mean) * fallback_width or 1.0)


def wasserstein_distance(values: FloatArray, u: FloatArray, v: FloatArray) -> float:
    """W1 between weights ``u`` and ``v`` placed on the sorted support ``values``."""
    cdf_gap = np.abs(np.cumsum(u)[:-1] / u.sum() - np.cumsum(v)[:-1] / v.sum())
    return float(np.dot(cdf_gap, np.diff(values)))


def wasserstein_normed(support: Support, fallback_width: float = 0.02) -> float:
    """W1(recent, baseline) / spread(baseline)."""
    scale = baseline_spread(support.values, support.baseline, fallback_width)
    return wasserstein_distance(support.values, support.recent, support.baseline) / scale


def compute(c: Comparison) -> float:
    if c.support is None:
        raise ValueError("the Wasserstein distance needs a numeric support")
    return wasserstein_normed(c.support)
