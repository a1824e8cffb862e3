"""Cosine similarity of the recent and baseline probability vectors.

``cos(p, q) = p . q / (|p| |q|)`` in [0, 1] for probability vectors; 1 for identical
distributions. It reacts little to small shifts (a 1-sigma normal shift on 10 quantile bins
still scores about 0.9), so it complements the divergences rather than replacing them.
Default drift threshold: below 0.9 (the original specification).

Reference: Salton & McGill (1983), "Introduction to Modern Information Retrieval";
equals ``1 - scipy.spatial.distance.cosine(p, q)``.
"""

from __future__ import annotations

import math

import numpy as np

from drift.statistics.comparison import Comparison, FloatArray


def cosine_similarity(p: FloatArray, q: FloatArray) -> float:
    """Cosine of the angle between ``p`` and ``q``; 0 when either vector is zero."""
    norm = math.sqrt(float(np.dot(p, p)) * float(np.dot(q, q)))
    return min(float(np.dot(p, q)) / norm, 1.0) if norm > 0 else 0.0


def compute(c: Comparison) -> float:
    return cosine_similarity(c.recent, c.baseline)
