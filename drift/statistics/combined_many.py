"""The binned statistics of many comparisons at once, bit for bit those of ``compute_combined``.

At ten bins a stream, ``compute_combined`` is some forty numpy calls of a microsecond each on
arrays of ten numbers. Here the streams' bins are laid end to end: every elementwise step
(smoothing, logs, square roots, the chi-square terms) runs once on all of them, and only what
would sum differently stays per stream: the dot products (BLAS's own order of summation) and the
chi-square sums (numpy's pairwise sum), each on its stream's contiguous slice, which gives the
same bits as on a stream's own array. Sums of counts are of integers (exact in any order).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.special import chdtrc

from drift.statistics.comparison import FloatArray

IntArray = NDArray[np.int64]

_dot, _add = np.dot, np.add.reduce


def _smoothed(counts: FloatArray, starts: IntArray, sizes: IntArray, alpha: float) -> FloatArray:
    """``comparison.smoothed`` of each segment (its total is a sum of half-integers: exact)."""
    padded = counts + alpha
    return padded / np.repeat(np.add.reduceat(padded, starts), sizes)


def binned_many(
    recent: Sequence[FloatArray], baseline: Sequence[FloatArray], alpha: float
) -> list[dict[str, float]]:
    """For each pair of count rows (``alpha`` > 0): KL, cosine, PSI, JS, Hellinger and the
    chi-square p-value, as ``compute_combined`` of the smoothed comparison gives them."""
    if alpha <= 0:
        raise ValueError("zero smoothing leaves empty shares: use compute_combined")
    if not recent:
        return []
    sizes = np.array([r.size for r in recent], np.int64)
    bounds = np.concatenate(([0], np.cumsum(sizes))).tolist()
    starts = np.array(bounds[:-1], np.int64)
    u, v = np.concatenate(recent), np.concatenate(baseline)
    p, q = _smoothed(u, starts, sizes, alpha), _smoothed(v, starts, sizes, alpha)
    log_ratio = np.log(p / q)
    m = (p + q) / 2.0
    log_pm, log_qm, diff = np.log(p / m), np.log(q / m), p - q
    root_gap = np.sqrt(p) - np.sqrt(q)
    chi2 = _chi2_many(u, v, bounds)
    out = []
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        pi, qi, li = p[lo:hi], q[lo:hi], log_ratio[lo:hi]
        divergence = (float(_dot(pi, log_pm[lo:hi])) + float(_dot(qi, log_qm[lo:hi]))) / 2.0
        norm = math.sqrt(float(_dot(pi, pi)) * float(_dot(qi, qi)))
        gap = root_gap[lo:hi]
        out.append(
            {
                "kl_divergence": max(float(_dot(pi, li)), 0.0),
                "cosine_similarity": min(float(_dot(pi, qi)) / norm, 1.0) if norm > 0 else 0.0,
                "psi": max(float(_dot(diff[lo:hi], li)), 0.0),
                "js_distance": math.sqrt(max(divergence, 0.0)),
                "hellinger": min(math.sqrt(float(_dot(gap, gap)) / 2.0), 1.0),
                "chi2_pvalue": chi2[i],
            }
        )
    return out


def _chi2_many(u: FloatArray, v: FloatArray, bounds: list[int]) -> list[float]:
    """``chi2_pvalue.chi2_pvalue`` of each segment: the occupied bins kept, the two sums of the
    statistic on each segment's slice, the tail in one call."""
    occupied = (u + v) > 0
    kept = np.concatenate(([0], np.cumsum(occupied))).tolist()
    u, v = u[occupied], v[occupied]
    ends = [kept[b] for b in bounds]
    segments = list(itertools.pairwise(ends))
    nu = [float(_add(u[lo:hi])) for lo, hi in segments]
    nv = [float(_add(v[lo:hi])) for lo, hi in segments]
    sizes = [hi - lo for lo, hi in segments]
    reps = np.array(sizes)
    nu_all, nv_all = np.repeat(nu, reps), np.repeat(nv, reps)
    col = (u + v) / (nu_all + nv_all)
    eu, ev = col * nu_all, col * nv_all
    with np.errstate(divide="ignore", invalid="ignore"):  # an empty side: 1.0 below
        terms_u, terms_v = (u - eu) ** 2 / eu, (v - ev) ** 2 / ev
    statistic = [float(_add(terms_u[lo:hi]) + _add(terms_v[lo:hi])) for lo, hi in segments]
    tails = chdtrc(reps - 1, statistic).tolist()
    return [
        1.0 if size < 2 or a == 0 or b == 0 else float(tail)
        for size, a, b, tail in zip(sizes, nu, nv, tails, strict=True)
    ]
