"""The null of a vector stream's mean-shift statistic when its dimensions are correlated.

``T = |u|^2``, ``u`` the standardised difference of the means (``drift.multivariate``), is,
without drift, a weighted sum ``sum_i lambda_i chi2(1)`` over the eigenvalues of the
dimensions' correlation matrix ``R`` (mean ``d``, variance ``2 tr(R^2)``). An embedding's ``R``
is spiky: a few directions (e.g. those between clusters, whose mix varies by chance) carry
most of the variance, and the tail of ``T`` decays as ``exp(-x / (2 lambda_max))``, far slower
than the two-moment fit ``a chi2(b)`` assumes — at 384 dims and 3 clusters, ``T`` = 1,551 had a
p-value of 8e-6 under that fit and 0.006 in truth. Two things follow:

* ``T``'s scale is at least the largest eigenvalue: ``var(T) = 2 tr(R^2) <= 2 d lambda_max``,
  taken as a floor (``a >= lambda_max``), with ``lambda_max`` estimated from the sub-windows'
  standardised differences ``u_h`` (largest eigenvalue of ``mean_h u_h u_h^T``, through their
  ``h x h`` Gram matrix; upward biased for a spike, so on the safe side);
* a shift outside the spikes is drowned in their variance. So, when the sub-windows show
  spikes (eigenvalues above ``SPIKE * d / h``, at most ``MAX_SPIKES``), ``T`` is split into its
  part along the spike directions and the rest, each referred to its own null: the same split
  of each sub-window with directions estimated from the other sub-windows (leave one out, so
  the null values are honest draws, not fitted), a scaled chi-square matched to their mean and
  variance (variance floored at ``2 m lambda``: the part's largest in-sample eigenvalue), its
  scale estimated with ``(h - 1) b`` degrees of freedom (``F(b, (h - 1) b)``). The two
  p-values are joined by a Cauchy combination.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import special

from drift.vectors import FloatArray

SPIKE = 1.5  # a spike: an eigenvalue of mean(u_h u_h^T) above SPIKE * (1 + sqrt(d / h))^2
MAX_SPIKES = 4
MIN_SUBS = 8  # sub-windows needed to estimate spike directions


def largest_eigenvalue(units: FloatArray) -> float:
    """Largest eigenvalue of ``mean_h u_h u_h^T`` over the rows ``u_h`` (0 without rows)."""
    if len(units) == 0:
        return 0.0
    return float(np.linalg.eigvalsh(units @ units.T / len(units))[-1])


def _spikes(units: FloatArray, rank: int | None, d: float) -> tuple[FloatArray, FloatArray]:
    """Eigenvalues (descending) of ``mean u u^T`` and its top directions (rows): ``rank`` of
    them, or the spikes when ``rank`` is None: those above ``SPIKE`` times the largest
    eigenvalue of ``h`` draws without correlation (``(1 + sqrt(d / h))^2``,
    Marchenko-Pastur)."""
    h = len(units)
    ell, vec = np.linalg.eigh(units @ units.T / h)
    ell, vec = ell[::-1], vec[:, ::-1]
    edge = SPIKE * (1.0 + math.sqrt(d / h)) ** 2
    r = int(np.sum(ell[:MAX_SPIKES] > edge)) if rank is None else rank
    scale = np.sqrt(h * np.maximum(ell[:r], 1e-300))
    return ell, (vec[:, :r].T @ units) / scale[:, None]


def _part(x: float, null: Sequence[float], floor: float) -> float:
    """p-value of ``x`` against a scaled chi-square fitted to ``null`` (variance floored at
    ``2 mean floor``), its scale estimated from ``len(null)`` values."""
    values = np.asarray(null)
    m = float(values.mean())
    if m <= 0.0:
        return 1.0
    v = max(float(np.var(values, ddof=1)), 2.0 * m * floor, 1e-300)
    b = 2.0 * m * m / v
    return float(special.fdtrc(b, len(values) - 1, max(x, 0.0) / m))


def split_test(u: FloatArray, units: FloatArray, d: float) -> float | None:
    """p-value of ``|u|^2`` split along the spikes of the sub-windows' ``units`` (rows, the
    same standardisation as ``u``) and the rest; None when they show no spike (or are too
    few)."""
    h = len(units)
    if h < MIN_SUBS:
        return None
    ell, dirs = _spikes(units, None, d)
    r = len(dirs)
    if r == 0:
        return None
    top_null, rest_null = [], []
    for i in range(h):
        _, others = _spikes(np.delete(units, i, 0), r, d)
        top = float(np.sum((others @ units[i]) ** 2))
        top_null.append(top)
        rest_null.append(float(units[i] @ units[i]) - top)
    top = float(np.sum((dirs @ u) ** 2))
    rest = float(u @ u) - top
    p_top = _part(top, top_null, float(ell[0]))
    p_rest = _part(rest, rest_null, float(ell[r]) if r < h else 0.0)
    return weighted_cauchy([p_top, p_rest], [1.0, 1.0])


def weighted_cauchy(p_values: Sequence[float], weights: Sequence[float]) -> float:
    """Cauchy combination with weights (normalised to sum 1); see ``cauchy_combination``."""
    total = float(sum(weights))
    t = 0.0
    for p, w in zip(p_values, weights, strict=True):
        p = min(max(float(p), 1e-300), 1.0 - 1e-16)
        term = 1.0 / (math.pi * p) if p < 1e-15 else math.tan((0.5 - p) * math.pi)
        t += w / total * term
    if t > 1e15:
        return min(1.0, 1.0 / (t * math.pi))
    return min(1.0, max(0.0, 0.5 - math.atan(t) / math.pi))
