"""Tails and combinations of p-values for the calibrated tests (:mod:`drift.calibration`):
F and t tails straight from ``scipy.special``, the degrees of freedom of an estimated null
variance, the Cauchy combination of a stream's tests and Benjamini-Hochberg across a model's
streams."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

FloatArray = NDArray[np.float64]
BIG_DF = 1e6  # degrees of freedom taken as infinite


# distribution tails straight from scipy.special (scipy.stats' argument checking costs ~50 us a
# call, more than the tests themselves)
def f_sf(x: float, d1: float, d2: float) -> float:
    return float(special.fdtrc(d1, d2, max(x, 0.0)))


def f_isf(alpha: float, d1: float, d2: float) -> float:
    return (
        float(special.fdtri(d1, d2, 1.0 - alpha))
        if alpha > 1e-12
        else float(stats.f.isf(alpha, d1, d2))
    )


def t_sf2(z: float, df: float) -> float:
    """Two-sided tail of Student's t (``df`` >= 1e6: the normal)."""
    z = abs(float(z))
    if df >= BIG_DF:
        return math.erfc(z / math.sqrt(2.0))
    return float(2.0 * special.stdtr(df, -z))


def t_sf2_many(z: FloatArray, df: FloatArray) -> FloatArray:
    z = np.abs(z)
    normal = special.erfc(z / np.sqrt(2.0))
    return np.where(df >= BIG_DF, normal, 2.0 * special.stdtr(np.minimum(df, BIG_DF), -z))


def t_isf2(alpha: float, df: float) -> float:
    """|t| whose two-sided tail is ``alpha``."""
    if df >= BIG_DF:
        return (
            float(special.ndtri(1.0 - alpha / 2.0))
            if alpha > 1e-12
            else float(stats.norm.isf(alpha / 2.0))
        )
    return float(-special.stdtrit(df, alpha / 2.0))


def df2(h: int, inflation: float) -> float:
    """Degrees of freedom of an estimated null variance: infinite with no between-sub-window
    component, ``h - 1`` when it dominates (Satterthwaite-style)."""
    if inflation <= 1.0 + 1e-12 or h < 2:
        return BIG_DF
    return float(min(BIG_DF, (h - 1) * (inflation / (inflation - 1.0)) ** 2))


def df2_many(h: FloatArray, inflation: FloatArray) -> FloatArray:
    """:func:`df2` elementwise."""
    excess = np.maximum(inflation - 1.0, 1e-300)
    with np.errstate(over="ignore", invalid="ignore"):  # no excess: infinite, capped below
        d2 = np.minimum(BIG_DF, (h - 1.0) * (inflation / excess) ** 2)
    return np.where((inflation <= 1.0 + 1e-12) | (h < 2), BIG_DF, d2)


def cauchy_combination(p_values: Sequence[float]) -> float:
    """Equal-weight Cauchy combination of dependent p-values (Liu & Xie 2020, ACAT):
    ``T = mean tan((0.5 - p_i) pi)``, ``p = 1/2 - arctan(T) / pi``. Valid under arbitrary
    dependence in the tail that matters; when one test alone is small it costs about a factor
    of the number of tests (like Bonferroni), when correlated tests agree far less."""
    terms = []
    for p in p_values:
        p = min(max(float(p), 1e-300), 1.0 - 1e-16)
        # tan overflows near 0: use its asymptote 1 / (pi p)
        terms.append(1.0 / (math.pi * p) if p < 1e-15 else math.tan((0.5 - p) * math.pi))
    t = sum(terms) / len(terms)
    if t > 1e15:
        return min(1.0, 1.0 / (t * math.pi))
    return min(1.0, max(0.0, 0.5 - math.atan(t) / math.pi))


def component_alpha(cut: float, k: int) -> float:
    """The p-value one component alone must reach for the combination to reach ``cut``."""
    return min(1.0, cut / k)


def benjamini_hochberg(p_values: Sequence[float], q: float) -> tuple[FloatArray, float]:
    """BH-adjusted p-values (q-values) and the p-value cut-off that controls the FDR at ``q``
    (the largest ``p_(k) <= k q / m``; ``q / m`` when nothing is rejected: the cut the smallest
    p-value would have to make)."""
    p = np.asarray(p_values, np.float64)
    m = p.size
    if m == 0:
        return p, q
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    passing = np.flatnonzero(p[order] <= q * np.arange(1, m + 1) / m)
    cut = float(q * (passing[-1] + 1) / m) if passing.size else q / m
    return out, cut
