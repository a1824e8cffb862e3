"""Calibrated tests of vector streams (embeddings, a model's standardised input vector).

A vector stream ``s`` is judged on its mergeable state (``drift.vectors``): the moments
``VectorMoments`` under ``s`` and the histograms of its projections on fixed random directions
under ``s.p00`` … (ordinary numeric streams, calibrated like any other). Its tests:

* mean shift: ``T = n_eff * sum_j (m_r,j - m_b,j)^2 / v_j`` (``v_j`` the baseline's variance of
  dimension ``j``, ``n_eff = n_r n_b / (n_r + n_b)``). Without drift each term is about a chi2(1);
  the dimensions are correlated, so ``T`` is referred to a scaled chi-square ``a chi2(b)``
  (Satterthwaite) with mean ``d`` (dimensions with variance) and the variance seen across the
  baseline's sub-windows (never below ``2 d``, its value for independent dimensions). A
  between-sub-window component is estimated by moments and moved to the recent window's
  ``n_eff`` exactly as for the G test (``phi = 1 + n_eff tau^2 / d``);
* correlation shift (moments with cross products): the Fisher ``z`` of every pair against the
  baseline's, ``T = sum (z_r - z_b)^2 / (1 / (n_r - 3) + 1 / (n_b - 3))``, referred the same way
  with mean ``P`` (pairs) — a correlation that flips while each marginal stays put;
* each projection's calibrated p-value (``drift.calibration``): a change of shape along a
  direction (a new cluster, a change of the cluster mix).

They are combined by a weighted Cauchy combination (the moment tests half the weight, the
projections the rest), so the stream enters the model's Benjamini-Hochberg step as one p-value.
Effect (against ``min_effect``): the largest of the deciding projection's total variation, the
total variation between two unit normals the standardised mean shift apart (``2 Phi(D/2) - 1``,
``D`` the diagonal Mahalanobis distance of the means) and half the largest change of a
correlation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from drift.significance import BIG_DF, df2, f_sf
from drift.vector_null import spike, split_test
from drift.vectors import FloatArray, VectorMoments

_TINY_VAR = 1e-12


@dataclass(frozen=True, slots=True)
class ShiftTest:
    """One moment test of a vector stream: its statistic, calibrated p-value and effect."""

    statistic: float
    p_value: float
    effect: float
    size: float  # the distance the effect is computed from (D, or the largest |delta r|)
    null_mean: float  # of the statistic at the recent window's size
    null_spread: float
    subwindows: int


def _chi2_sf(x: float, df: float) -> float:
    return float(special.chdtrc(df, max(x, 0.0)))


def _referred(
    stat: float,
    n_eff: float,
    df0: float,
    subs: Sequence[tuple[float, float]],
    units: Sequence[FloatArray] = (),
) -> tuple[float, float, float, float, FloatArray]:
    """p-value, null mean and null sd of ``stat`` (mean ``df0`` under sampling noise alone),
    the null learnt from ``subs`` = (statistic, n_eff) of each sub-window against the rest and
    ``units``, their standardised differences (``stat = |u|^2``); then the inflation ``phi`` of
    the recent window and the units with their between-sub-window component taken out."""
    h = len(subs)
    stats = np.array([s for s, _ in subs]) if h else np.zeros(0)
    effs = np.array([n for _, n in subs]) if h else np.zeros(0)
    tau = max(0.0, float(np.sum(stats - df0)) / float(effs.sum())) if h and effs.sum() > 0 else 0.0
    shrink = 1.0 + effs * tau / df0
    shrunk = np.stack(units) / np.sqrt(shrink)[:, None] if len(units) else np.zeros((0, 0))
    var0 = 2.0 * df0
    if h >= 3:
        var0 = max(var0, float(np.var(stats / shrink, ddof=1)))
        var0 = max(var0, 2.0 * df0 * spike(shrunk, df0))
    phi = 1.0 + n_eff * tau / df0
    a, b = var0 / (2.0 * df0), 2.0 * df0 * df0 / var0
    d2 = df2(h, a)
    p = _chi2_sf(stat / phi / a, b) if d2 >= BIG_DF else f_sf(stat / phi / a / b, b, d2)
    return p, df0 * phi, math.sqrt(var0) * phi, phi, shrunk


def _mean_stat(a: VectorMoments, b: VectorMoments, keep: np.ndarray, var: FloatArray):
    n_eff = a.count * b.count / (a.count + b.count)
    diff = (a.mean() - b.mean())[keep]
    return n_eff * float(np.sum(diff * diff / var)), n_eff, diff


def _usable(subs: Sequence[VectorMoments], baseline: VectorMoments) -> list[VectorMoments]:
    return [s for s in subs if 0 < s.count < baseline.count]


def mean_shift(
    recent: VectorMoments, baseline: VectorMoments, subs: Sequence[VectorMoments] = ()
) -> ShiftTest:
    var_all = baseline.variance()
    keep = var_all > _TINY_VAR
    d = int(keep.sum())
    if d == 0 or recent.count == 0 or baseline.count == 0:
        return ShiftTest(0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0)
    var = var_all[keep]
    stat, n_eff, diff = _mean_stat(recent, baseline, keep, var)
    null, units = [], []
    for s in _usable(subs, baseline):
        t, ne, sub_diff = _mean_stat(s, baseline - s, keep, var)
        null.append((t, ne))
        units.append(sub_diff * np.sqrt(ne / var))
    p, centre, spread, phi, shrunk = _referred(stat, n_eff, float(d), null, units)
    split = split_test(diff * np.sqrt(n_eff / var / phi), shrunk, float(d))
    if split is not None:
        p = split
    distance = math.sqrt(float(np.sum(diff * diff / var)))
    effect = float(2.0 * special.ndtr(distance / 2.0) - 1.0)
    return ShiftTest(stat, p, effect, distance, centre, spread, len(null))


def _fisher(m: VectorMoments, keep: np.ndarray) -> FloatArray:
    cov = m.covariance()
    sd = np.sqrt(np.maximum(np.diag(cov), _TINY_VAR))
    r = cov / np.outer(sd, sd)
    i, j = np.triu_indices(m.dim, 1)
    ok = keep[i] & keep[j]
    return np.arctanh(np.clip(r[i, j][ok], -0.999999, 0.999999))


def _corr_stat(
    a: VectorMoments, b: VectorMoments, keep: np.ndarray
) -> tuple[float, float, FloatArray, FloatArray]:
    za, zb = _fisher(a, keep), _fisher(b, keep)
    scale = 1.0 / max(a.count - 3, 1) + 1.0 / max(b.count - 3, 1)
    n_eff = a.count * b.count / (a.count + b.count)
    unit = (za - zb) / math.sqrt(scale)
    return float(np.sum(unit * unit)), n_eff, unit, np.tanh(za) - np.tanh(zb)


def correlation_shift(
    recent: VectorMoments, baseline: VectorMoments, subs: Sequence[VectorMoments] = ()
) -> ShiftTest | None:
    """None when the moments keep no cross products or fewer than two dimensions vary."""
    if not (recent.has_cross and baseline.has_cross):
        return None
    keep = baseline.variance() > _TINY_VAR
    pairs = int(keep.sum()) * (int(keep.sum()) - 1) // 2
    if pairs == 0 or recent.count < 4 or baseline.count < 4:
        return None
    stat, n_eff, _, delta = _corr_stat(recent, baseline, keep)
    null, units = [], []
    for s in _usable(subs, baseline):
        rest = baseline - s
        if s.count >= 4 and rest.count >= 4:
            t, ne, unit, _ = _corr_stat(s, rest, keep)
            null.append((t, ne))
            units.append(unit)
    p, centre, spread, _, _ = _referred(stat, n_eff, float(pairs), null, units)
    largest = float(np.abs(delta).max())
    return ShiftTest(stat, p, largest / 2.0, largest, centre, spread, len(null))


def cosine_distance(a: FloatArray, b: FloatArray) -> float:
    """``1 - cos(a, b)`` of two mean vectors (0 when either is zero)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(1.0 - np.dot(a, b) / (na * nb))
