"""Detection policy: thresholds per metric, minimum sample sizes, bins, per-stream overrides.

Default thresholds (drift when the metric crosses its limit in its direction):

=====================  =======  ====================================================
metric                 limit    source
=====================  =======  ====================================================
``kl_divergence``      > 0.1    the original specification
``cosine_similarity``  < 0.9    the original specification
``psi``                > 0.2    credit-scoring practice ("significant shift")
``js_distance``        > 0.1    Evidently's Jensen-Shannon default
``hellinger``          > 0.1    same scale as the JS distance for small shifts
``wasserstein``        > 0.1    Evidently's normed Wasserstein default (in baseline stds)
``ks_statistic``       > 0.1    effect-size reading of KS (p-values are size-bound)
``chi2_pvalue``        off      reported only: with large windows every shift is significant
=====================  =======  ====================================================

A limit of ``None`` makes a metric informational. Overrides map a stream name (or ``"*"`` for
every stream of the model) to ``{metric: limit or None}``; the stream's entry wins over ``"*"``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal

Direction = Literal["above", "below"]


@dataclass(frozen=True)
class Thresholds:
    """Drift limit per metric; ``None`` disables a metric. ``DIRECTIONS`` says which side drifts."""

    kl_divergence: float | None = 0.1
    cosine_similarity: float | None = 0.9
    psi: float | None = 0.2
    js_distance: float | None = 0.1
    hellinger: float | None = 0.1
    wasserstein: float | None = 0.1
    ks_statistic: float | None = 0.1
    chi2_pvalue: float | None = None

    DIRECTIONS: ClassVar[Mapping[str, Direction]] = {
        "kl_divergence": "above",
        "cosine_similarity": "below",
        "psi": "above",
        "js_distance": "above",
        "hellinger": "above",
        "wasserstein": "above",
        "ks_statistic": "above",
        "chi2_pvalue": "below",
    }

    def limit(self, metric: str) -> float | None:
        if metric not in self.DIRECTIONS:
            raise KeyError(f"unknown metric {metric!r}")
        value: float | None = getattr(self, metric)
        return value

    def crossed(self, metric: str, value: float) -> bool:
        """Whether ``value`` of ``metric`` is beyond its limit (never for a disabled metric)."""
        limit = self.limit(metric)
        if limit is None:
            return False
        return value > limit if self.DIRECTIONS[metric] == "above" else value < limit

    def drifted(self, metrics: Mapping[str, float]) -> tuple[str, ...]:
        return tuple(name for name, value in metrics.items() if self.crossed(name, value))

    def updated(self, limits: Mapping[str, float | None]) -> Thresholds:
        unknown = sorted(set(limits) - set(self.DIRECTIONS))
        if unknown:
            raise ValueError(f"unknown metric(s) in thresholds: {', '.join(unknown)}")
        return dataclasses.replace(self, **limits)


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class DetectionPolicy:
    """How one model's streams are judged."""

    thresholds: Thresholds = DEFAULT_THRESHOLDS
    min_recent: int = 100
    min_baseline: int = 500
    n_bins: int = 10
    smoothing: float = 0.5
    overrides: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.n_bins < 2:
            raise ValueError(f"n_bins must be >= 2, got {self.n_bins}")
        if self.min_recent < 1 or self.min_baseline < 1:
            raise ValueError("min_recent and min_baseline must be >= 1")
        if self.smoothing < 0:
            raise ValueError(f"smoothing must be >= 0, got {self.smoothing}")
        for limits in self.overrides.values():
            self.thresholds.updated(limits)

    def for_stream(self, stream: str) -> Thresholds:
        """Thresholds for ``stream``: defaults, then the ``"*"`` override, then the stream's."""
        thresholds = self.thresholds
        for key in ("*", stream):
            if key in self.overrides:
                thresholds = thresholds.updated(self.overrides[key])
        return thresholds

    def with_overrides(self, mapping: Mapping[str, Mapping[str, float | None]]) -> DetectionPolicy:
        """A policy whose overrides are these merged over the current ones (per stream)."""
        merged = {key: dict(limits) for key, limits in self.overrides.items()}
        for key, limits in mapping.items():
            merged.setdefault(key, {}).update(limits)
        return dataclasses.replace(self, overrides=merged)
