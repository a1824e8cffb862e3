"""Population Stability Index.

``PSI = sum_i (p_i - q_i) ln(p_i / q_i)`` = KL(p || q) + KL(q || p), with ``p`` = recent and
``q`` = baseline, both smoothed (strictly positive). 0 for identical distributions, symmetric,
unbounded above. Customary reading: < 0.1 stable, 0.1-0.2 moderate shift, > 0.2 significant
shift; the default drift threshold is 0.2.

Reference: Siddiqi (2006), "Credit Risk Scorecards", ch. 8; Yurdakul (2018), "Statistical
Properties of Population Stability Index".
"""

from __future__ import annotations

import numpy as np

from drift.statistics.comparison import Comparison, FloatArray


def psi(p: FloatArray, q: FloatArray) -> float:
    """PSI of strictly positive probability vectors ``p`` (recent) and ``q`` (baseline)."""
    return max(float(np.dot(p - q, np.log(p / q))), 0.0)


def compute(c: Comparison) -> float:
    return psi(c.recent, c.baseline)
