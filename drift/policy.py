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


Rule = Literal["calibrated", "fixed"]


@dataclass(frozen=True)
class DetectionPolicy:
    """How one model's streams are judged.

    ``rule="calibrated"`` (default): a stream drifts when its calibrated p-value
    (:mod:`drift.calibration`) is within the Benjamini-Hochberg cut-off at false-discovery rate
    ``fdr`` across the model's streams **and** its effect (total variation distance on the
    compared bins) is at least ``min_effect``. ``rule="fixed"``: the seed's behaviour, each
    metric against its limit in ``thresholds`` (KL > 0.1, cosine < 0.9, ...). Either way every
    metric is computed and reported. ``per_value_max``: a numeric baseline with at most that many
    distinct buckets is compared value by value; ``min_expected``: bins are pooled to at least
    that expected count."""

    thresholds: Thresholds = DEFAULT_THRESHOLDS
    min_recent: int = 100
    min_baseline: int = 500
    n_bins: int = 10
    smoothing: float = 0.5
    overrides: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    rule: Rule = "calibrated"
    fdr: float = 0.001
    min_effect: float = 0.02
    per_value_max: int = 64
    min_expected: float = 5.0

    def __post_init__(self) -> None:
        if self.rule not in ("calibrated", "fixed"):
            raise ValueError(f"rule must be 'calibrated' or 'fixed', got {self.rule!r}")
        if not 0 < self.fdr < 1:
            raise ValueError(f"fdr must be in (0, 1), got {self.fdr}")
        if self.min_effect < 0 or self.min_expected <= 0 or self.per_value_max < 2:
            raise ValueError("min_effect >= 0, min_expected > 0 and per_value_max >= 2 needed")
        if self.n_bins < 2:
            raise ValueError(f"n_bins must be >= 2, got {self.n_bins}")
        if self.min_recent < 1 or self.min_baseline < 1:
            raise ValueError("min_recent and min_baseline must be >= 1")
        if self.smoothing < 0:
            raise ValueError(f"smoothing must be >= 0, got {self.smoothing}")
        for limits in self.overrides.values():
            self.thresholds.updated(limits)

    def rule_for(self, stream: str) -> Rule:
        """Explicit limits for a stream (or ``"*"``) are the user's choice of the fixed rule
        for it; every other stream follows ``rule``."""
        return "fixed" if stream in self.overrides or "*" in self.overrides else self.rule

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
