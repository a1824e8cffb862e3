"""Hellinger distance.

``H(p, q) = sqrt( sum_i (sqrt(p_i) - sqrt(q_i))^2 / 2 )`` in [0, 1]; 0 for identical and 1 for
disjoint distributions; symmetric, finite with empty bins. For small shifts ``H^2`` and the JS
divergence are both about ``sum (p_i - q_i)^2 / (8 q_i)``, so the default threshold is the same
as for the JS distance: 0.1.

Reference: Hellinger (1909); Le Cam & Yang (2000), "Asymptotics in Statistics", ch. 2.
"""

from __future__ import annotations

import math

import numpy as np

from drift.statistics.comparison import Comparison, FloatArray


def hellinger(p: FloatArray, q: FloatArray) -> float:
    """Hellinger distance of probability vectors ``p`` and ``q``."""
    diff = np.sqrt(p) - np.sqrt(q)
    return min(math.sqrt(float(np.dot(diff, diff)) / 2.0), 1.0)


def compute(c: Comparison) -> float:
    return hellinger(c.recent, c.baseline)
