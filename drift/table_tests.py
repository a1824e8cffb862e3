"""The tests of two rows of counts on the same bins (:func:`table_tests`): the G test of
homogeneity, the linear rank (trend) test for ordered bins and the standardised change of each
column's share for unordered ones, vectorised over pairs of rows (:mod:`drift.calibration`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TableTests:
    """Per row of a pair of (rows, K) count tables: the test statistics and effect sizes."""

    g: FloatArray
    df: FloatArray
    z_trend: FloatArray
    z_share: FloatArray  # (rows, K): standardised change of each column's share
    n_eff: FloatArray
    tvd: FloatArray  # total variation distance of the two rows' shares
    auc: FloatArray  # P(a > b) + P(a = b) / 2 from the bins (0.5: no location change)


def table_tests(a: FloatArray, b: FloatArray, ordered: bool = True) -> TableTests:
    """G test, and the trend test (``ordered``) or the share changes (not ``ordered``), of row
    ``a[i]`` against row ``b[i]``; the other one is left as zeros."""
    na, nb = a.sum(1), b.sum(1)
    n = na + nb
    col = a + b
    safe_n = np.where(n > 0, n, 1.0)
    share = col / safe_n[:, None]
    # G = 2 sum O ln(O / E), E = row total x column share, by the identity
    # sum a ln a + sum b ln b - sum col ln col - na ln na - nb ln nb + n ln n (0 ln 0 = 0)
    xl = special.xlogy
    g = 2.0 * ((xl(a, a) + xl(b, b) - xl(col, col)).sum(1) - xl(na, na) - xl(nb, nb) + xl(n, n))
    g = np.maximum(g, 0.0)  # rounding
    df = np.maximum((col > 0).sum(1) - 1, 1).astype(np.float64)
    safe_na, safe_nb = np.where(na > 0, na, 1.0), np.where(nb > 0, nb, 1.0)
    pa, pb = a / safe_na[:, None], b / safe_nb[:, None]
    n_eff = na * nb / safe_n
    tvd = 0.5 * np.abs(pa - pb).sum(1)
    zeros = np.zeros(len(a))
    if ordered:  # mid-rank scores of the pooled row (Wilcoxon on the bins)
        score = np.cumsum(col, 1) - col + (col + 1.0) / 2.0
        mean_score = (score * col).sum(1) / safe_n
        sa = (score * a).sum(1)
        t = sa - na * mean_score
        spread = (col * (score - mean_score[:, None]) ** 2).sum(1)
        var = na * nb / np.maximum(n * (n - 1.0), 1.0) * spread
        z_trend = np.where(var > 0, t / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
        auc = (sa / safe_na - (na + 1.0) / 2.0) / safe_nb
        return TableTests(g, df, z_trend, np.zeros_like(a), n_eff, tvd, auc)
    se = np.sqrt(share * (1.0 - share) * (1.0 / safe_na + 1.0 / safe_nb)[:, None])
    z_share = np.where(se > 0, (pa - pb) / np.where(se > 0, se, 1.0), 0.0)
    return TableTests(g, df, zeros, z_share, n_eff, tvd, zeros + 0.5)
