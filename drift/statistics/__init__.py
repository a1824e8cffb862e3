"""Drift statistics, one small module each, and the registry the evaluator walks.

Each module holds a plain function with its formula, edge cases and reference, plus a
``compute(Comparison)`` adapter. ``STATISTICS`` maps the metric name (the key used in results,
Prometheus gauges and thresholds) to its entry; ``numeric_only`` entries need the fine buckets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from drift.statistics import (
    chi2_pvalue,
    cosine_similarity,
    hellinger,
    js_distance,
    kl_divergence,
    ks_statistic,
    psi,
    wasserstein,
)
from drift.statistics.combined import compute_combined
from drift.statistics.comparison import Comparison, Support, smoothed


@dataclass(frozen=True, slots=True)
class Statistic:
    name: str
    compute: Callable[[Comparison], float]
    numeric_only: bool = False


STATISTICS: Mapping[str, Statistic] = MappingProxyType(
    {
        "kl_divergence": Statistic("kl_divergence", kl_divergence.compute),
        "cosine_similarity": Statistic("cosine_similarity", cosine_similarity.compute),
        "psi": Statistic("psi", psi.compute),
        "js_distance": Statistic("js_distance", js_distance.compute),
        "hellinger": Statistic("hellinger", hellinger.compute),
        "wasserstein": Statistic("wasserstein", wasserstein.compute, numeric_only=True),
        "ks_statistic": Statistic("ks_statistic", ks_statistic.compute, numeric_only=True),
        "chi2_pvalue": Statistic("chi2_pvalue", chi2_pvalue.compute),
    }
)


def compute_each(comparison: Comparison) -> dict[str, float]:
    """Every applicable statistic of one comparison, keyed by metric name, one registry
    entry at a time (the reference :func:`compute_all` is tested against)."""
    numeric = comparison.support is not None
    return {
        name: stat.compute(comparison)
        for name, stat in STATISTICS.items()
        if numeric or not stat.numeric_only
    }


def compute_all(comparison: Comparison) -> dict[str, float]:
    """Every applicable statistic of one comparison, keyed by metric name: the same values
    as :func:`compute_each`, computed in one pass (``drift.statistics.combined``)."""
    return compute_combined(comparison)


__all__ = [
    "STATISTICS",
    "Comparison",
    "Statistic",
    "Support",
    "compute_all",
    "compute_each",
    "smoothed",
]
