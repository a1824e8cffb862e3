"""The processor's tunables (set from ``WorkerSettings`` by the worker)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from drift.quality import QualityPolicy


@dataclass(frozen=True)
class EventTimeBounds:
    """Events more than ``max_future`` s after their record's broker timestamp, or more than
    ``max_age`` s before it, are refused (``drift.eventtime``); ``max_age`` 0: no lower bound."""

    max_future: float = 300.0
    max_age: float = 0.0


@dataclass(frozen=True)
class DedupSettings:
    """Counting by event id: an explicit event id counted in a bucket within ``horizon`` s of
    an event's bucket makes the event a duplicate (not counted). A bucket remembers at most
    ``max_ids_per_bucket`` ids (8 bytes each in its record; 0 turns this off)."""

    horizon: int = 3600
    max_ids_per_bucket: int = 60_000


@dataclass(frozen=True)
class DetectionSettings:
    """Calibration inputs the processor gathers (docs/architecture.md, "Verdicts").

    ``fresh_buckets``: sizes (in buckets) of the newest parts of the recent window tested on
    their own (a sudden change fills them first; empty: off). ``freeze_drifted``: when a
    stream's alert opens, its baseline (and sub-windows) is frozen as it was, until the alert
    resolves or the change is accepted, so a persisting shift is not absorbed by the rolling
    baseline. ``seasonal_days``: days of roll-ups a model in seasonal mode keeps (its
    baseline: the same time of day on each). ``quality``: limits of the data-quality signals
    (``drift.quality``; None: off)."""

    fresh_buckets: tuple[int, ...] = (3, 6)
    freeze_drifted: bool = True
    seasonal_days: int = 7
    quality: QualityPolicy | None = field(default_factory=QualityPolicy)  # None: not judged


@dataclass(frozen=True)
class HistogramSettings:
    relative_accuracy: float = 0.01
    max_categories: int = 100
    max_streams_per_model: int = 200
    max_models: int = 1000


@dataclass(frozen=True)
class VectorSettings:
    """``projections``: directions each vector stream is projected on (K); ``max_streams``:
    vector streams per model (embeddings and multivariate), which with the dimensions bounds
    the memory; ``declared``: embedding dimensions fixed in advance, by name, for every model;
    ``multivariate``: keep the ``multivariate`` stream of models with >= 2 numeric inputs (on
    by default; ``DRIFT_MULTIVARIATE=0`` switches it off)."""

    projections: int = 16
    max_streams: int = 4
    declared: Mapping[str, int] = field(default_factory=dict)
    multivariate: bool = True
    multivariate_inputs: int = 16
    multivariate_after: int = 1000
