"""Jensen-Shannon distance.

``JS(p, q) = sqrt( (KL(p || m) + KL(q || m)) / 2 )`` with ``m = (p + q) / 2``, natural log, so
it lies in [0, sqrt(ln 2)] ~ [0, 0.833]; a metric, symmetric, finite even with empty bins.
Default drift threshold 0.1 (Evidently's default for its Jensen-Shannon test).

Reference: Lin (1991), "Divergence measures based on the Shannon entropy"; Endres & Schindelin
(2003); equals ``scipy.spatial.distance.jensenshannon(p, q)``.
"""

from __future__ import annotations

import math

import numpy as np

from drift.statistics.comparison import Comparison, FloatArray


def _kl_to_mixture(p: FloatArray, m: FloatArray) -> float:
    mask = p > 0
    return float(np.dot(p[mask], np.log(p[mask] / m[mask])))


def js_distance(p: FloatArray, q: FloatArray) -> float:
    """Jensen-Shannon distance (natural log) of probability vectors ``p`` and ``q``."""
    m = (p + q) / 2.0
    divergence = (_kl_to_mixture(p, m) + _kl_to_mixture(q, m)) / 2.0
    return math.sqrt(max(divergence, 0.0))


def compute(c: Comparison) -> float:
    return js_distance(c.recent, c.baseline)
