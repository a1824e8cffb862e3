"""What every statistic sees: recent and baseline regrouped onto the same bins.

Probabilities are smoothed additively, ``p_i = (c_i + a) / (n + k a)`` with ``a`` = 0.5 by
default (Jeffreys / Krichevsky-Trofimov), so an empty bin costs a bounded amount instead of the
"smallest float" trick that makes KL and PSI explode. Numeric streams also carry the fine
buckets (representative values and counts on a common sorted support) for Wasserstein and KS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
DEFAULT_SMOOTHING = 0.5


def smoothed(counts: FloatArray, alpha: float = DEFAULT_SMOOTHING) -> FloatArray:
    """Additively smoothed probabilities of ``counts`` (uniform when all counts are zero)."""
    if alpha < 0:
        raise ValueError(f"smoothing must be >= 0, got {alpha}")
    padded = counts + alpha
    total = padded.sum()
    return padded / total if total > 0 else np.full(counts.size, 1.0 / counts.size)


@dataclass(frozen=True, slots=True)
class Support:
    """Fine buckets of both sides on one sorted support (numeric streams only)."""

    values: FloatArray
    recent: FloatArray
    baseline: FloatArray


@dataclass(frozen=True, slots=True)
class Comparison:
    """Regrouped counts of recent and baseline, their smoothed probabilities, and the support."""

    recent_counts: FloatArray
    baseline_counts: FloatArray
    recent: FloatArray
    baseline: FloatArray
    support: Support | None = None

    @classmethod
    def from_counts(
        cls,
        recent_counts: FloatArray,
        baseline_counts: FloatArray,
        support: Support | None = None,
        alpha: float = DEFAULT_SMOOTHING,
    ) -> Comparison:
        if recent_counts.shape != baseline_counts.shape or recent_counts.size == 0:
            raise ValueError("recent and baseline need the same, non-empty set of bins")
        recent, baseline = smoothed(recent_counts, alpha), smoothed(baseline_counts, alpha)
        return cls(recent_counts, baseline_counts, recent, baseline, support)
