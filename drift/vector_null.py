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
  ``h x h`` Gram matrix; upward biased for a spike, so on the safe side), when it is a spike
  (below, else no floor: a flat spectrum is what the two-moment fit describes well);
* a shift outside the spikes is drowned in their variance. So, when the sub-windows show
  spikes (eigenvalues above ``SPIKE`` times the largest that ``h`` uncorrelated draws give,
  ``(1 + sqrt(d / h))^2``; at most ``MAX_SPIKES``), ``T`` is split into its
  part along the spike directions and the rest, each referred to its own null: the same split
  of each sub-window with directions estimated from the other sub-windows (leave one out, so
  the null values are honest draws, not fitted), a scaled chi-square matched to their mean and
  variance (variance floored at ``2 m lambda``: the part's largest in-sample eigenvalue), its
  scale estimated from ``h`` values (``F(b, h - 1)``: a part ruled by one spike has about
  that many degrees of freedom). The two p-values are joined by a Cauchy combination. All of
  it is computed on the ``h x h`` Gram matrix (about 1 ms at 384 dims, 24 sub-windows).
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


def spike(units: FloatArray, d: float) -> float:
    """Largest eigenvalue of ``mean_h u_h u_h^T`` over the rows ``u_h`` when it is a spike
    (``_spike_count``), else 0: the top eigenvalue of a few draws without correlation is
    biased up by noise alone and would only cost power."""
    h = len(units)
    if h == 0:
        return 0.0
    ell = np.linalg.eigvalsh(units @ units.T / h)[::-1].astype(np.float64)
    return float(ell[0]) if _spike_count(ell, d, h) else 0.0


def _spike_count(ell: FloatArray, d: float, h: int) -> int:
    """Leading eigenvalues above ``SPIKE`` times the largest one ``h`` uncorrelated draws give
    (``(1 + sqrt(d / h))^2``, Marchenko-Pastur), at most ``MAX_SPIKES``."""
    return int(np.sum(ell[:MAX_SPIKES] > SPIKE * (1.0 + math.sqrt(d / h)) ** 2))


def _part(x: float, null: Sequence[float] | FloatArray, floor: float) -> float:
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
    few). All in the ``h x h`` Gram matrix: a direction is ``units^T v / sqrt(h ell)``."""
    h = len(units)
    if h < MIN_SUBS:
        return None
    gram = units @ units.T
    ell, vec = np.linalg.eigh(gram / h)
    ell, vec = ell[::-1], vec[:, ::-1]
    r = _spike_count(ell, d, h)
    if r == 0:
        return None
    top = float(np.sum((vec[:, :r].T @ (units @ u)) ** 2 / (h * ell[:r])))
    rest = float(u @ u) - top
    # leave one out: sub-window i split along the spikes of the other h - 1
    idx = np.array([np.delete(np.arange(h), i) for i in range(h)])
    others = gram[idx[:, :, None], idx[:, None, :]]  # (h, h-1, h-1)
    ell_o, vec_o = np.linalg.eigh(others / (h - 1))
    ell_o, vec_o = ell_o[:, ::-1][:, :r], vec_o[:, :, ::-1][:, :, :r]
    cross = gram[idx, np.arange(h)[:, None]]  # (h, h-1): <u_j, u_i>, j != i
    along = np.einsum("hjk,hj->hk", vec_o, cross) ** 2 / ((h - 1) * np.maximum(ell_o, 1e-300))
    top_null = along.sum(1)
    rest_null = np.diag(gram) - top_null
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
