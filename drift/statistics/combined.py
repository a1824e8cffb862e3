"""Every statistic of one comparison in one pass, sharing what the formulas have in common.

The same values, bit for bit, as the registry's ``compute`` adapters one by one (the unit
tests compare both on seeded inputs): each shared piece is the very expression each module
evaluates (``ln(p / q)`` for KL and PSI, the normalised cumulative sums for KS and
Wasserstein), computed once. With a zero share (smoothing 0) KL and JS drop those bins, so
that case goes through the modules themselves.
"""

from __future__ import annotations

import math

import numpy as np

from drift.statistics.chi2_pvalue import chi2_pvalue
from drift.statistics.comparison import Comparison, FloatArray, Support
from drift.statistics.cosine_similarity import cosine_similarity
from drift.statistics.hellinger import hellinger
from drift.statistics.js_distance import js_distance
from drift.statistics.kl_divergence import kl_divergence
from drift.statistics.psi import psi
from drift.statistics.wasserstein import baseline_spread

_add = np.add.reduce  # what ndarray.sum calls, without its wrappers


def _divergences(p: FloatArray, q: FloatArray) -> tuple[float, float, float]:
    """KL(p || q), PSI and the JS distance of strictly positive ``p`` and ``q``."""
    log_ratio = np.log(p / q)
    m = (p + q) / 2.0
    divergence = (float(np.dot(p, np.log(p / m))) + float(np.dot(q, np.log(q / m)))) / 2.0
    return (
        max(float(np.dot(p, log_ratio)), 0.0),
        max(float(np.dot(p - q, log_ratio)), 0.0),
        math.sqrt(max(divergence, 0.0)),
    )


def _cdf_metrics(support: Support, fallback_width: float = 0.02) -> tuple[float, float]:
    """Normed Wasserstein-1 and the KS statistic on the fine buckets."""
    u, v = support.recent, support.baseline
    gap = np.abs(np.cumsum(u) / _add(u) - np.cumsum(v) / _add(v))
    scale = baseline_spread(support.values, v, fallback_width)
    w1 = float(np.dot(gap[:-1], np.diff(support.values)))
    return w1 / scale, float(gap.max())


def compute_combined(c: Comparison) -> dict[str, float]:
    """``{name: STATISTICS[name].compute(c)}`` for every applicable statistic, in the
    registry's order."""
    p, q = c.recent, c.baseline
    if p.all() and q.all():
        kl, psi_value, js = _divergences(p, q)
    else:
        kl, psi_value, js = kl_divergence(p, q), psi(p, q), js_distance(p, q)
    out = {
        "kl_divergence": kl,
        "cosine_similarity": cosine_similarity(p, q),
        "psi": psi_value,
        "js_distance": js,
        "hellinger": hellinger(p, q),
    }
    if c.support is not None:
        out["wasserstein"], out["ks_statistic"] = _cdf_metrics(c.support)
    out["chi2_pvalue"] = chi2_pvalue(c.recent_counts, c.baseline_counts)
    return out
