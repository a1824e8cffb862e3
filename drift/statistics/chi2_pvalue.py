"""Chi-square test of homogeneity on the regrouped counts (a 2 x k contingency table).

``X^2 = sum_ij (O_ij - E_ij)^2 / E_ij`` with ``E_ij = row_i col_j / n``, on raw counts (not
smoothed), bins empty on both sides dropped, ``k - 1`` degrees of freedom, no Yates
correction; the p-value is ``P(chi2_{k-1} >= X^2)``. 1.0 when fewer than two bins are occupied
or a side is empty. With large windows any tiny shift is "significant", so this p-value is
reported but not decisive by default; set a threshold (e.g. 0.001, drift when below) per model.

Reference: Pearson (1900); ``scipy.stats.chi2_contingency(table, correction=False)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import chdtrc

from drift.statistics.comparison import Comparison, FloatArray


def chi2_pvalue(u: FloatArray, v: FloatArray) -> float:
    """p-value of the chi-square homogeneity test of counts ``u`` against counts ``v``."""
    occupied = (u + v) > 0
    u, v = u[occupied], v[occupied]
    nu, nv = float(u.sum()), float(v.sum())
    if u.size < 2 or nu == 0 or nv == 0:
        return 1.0
    col = (u + v) / (nu + nv)
    eu, ev = col * nu, col * nv
    statistic = float(np.sum((u - eu) ** 2 / eu) + np.sum((v - ev) ** 2 / ev))
    return float(chdtrc(u.size - 1, statistic))


def compute(c: Comparison) -> float:
    return chi2_pvalue(c.recent_counts, c.baseline_counts)
