"""Kullback-Leibler divergence of recent from baseline.

``KL(p || q) = sum_i p_i ln(p_i / q_i)`` in nats, with ``p`` = recent and ``q`` = baseline
(smoothed, so every ``q_i > 0`` and the value is finite). 0 for identical distributions,
unbounded above, asymmetric. Default drift threshold 0.1 (the original specification).

Reference: Kullback & Leibler (1951), "On Information and Sufficient Statistic";
``scipy.stats.entropy(p, q)`` computes the same quantity.
"""

from __future__ import annotations

import numpy as np

from drift.statistics.comparison import Comparison, FloatArray


def kl_divergence(p: FloatArray, q: FloatArray) -> float:
    """KL(p || q) in nats; terms with ``p_i = 0`` contribute 0."""
    mask = p > 0
    return max(float(np.dot(p[mask], np.log(p[mask] / q[mask]))), 0.0)


def compute(c: Comparison) -> float:
    return kl_divergence(c.recent, c.baseline)
