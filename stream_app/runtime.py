"""A model's state in memory, a batch's gathered events, and what the processor's parts share.

``ProcessorBase`` declares the attributes and the methods one part of ``Processor`` calls in
another (gathering, counting, window movement, references, commands), so each part is a
small mixin module typed against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drift import DetectionPolicy, EventLimits, Histogram, Hysteresis, WindowSums
from drift.bins import Subwindows
from drift.columnar_wire import ColumnarRecord
from stream_app.evaluation import StreamInput
from stream_app.records import Output, RawRecord, Store
from stream_app.state import BucketRecord, ModelMeta, PinnedBaseline, Reference
from stream_app.tuning import (
    DedupSettings,
    DetectionSettings,
    EventTimeBounds,
    HistogramSettings,
    VectorSettings,
)
from stream_app.windows import WindowSpec


@dataclass
class Gathered:
    """A model's events of one batch, with the records they came from (runs of ``counts``).

    ``parts`` holds per record its row events or its ``ColumnarRecord``; ``events`` the row
    events of all of them (the whole batch when ``columnar`` is False)."""

    events: list[Any] = field(default_factory=list)
    records: list[RawRecord] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    names: tuple[str, ...] | None = None  # shared numeric input names (``decode_streams``)
    parts: list[list[Any] | ColumnarRecord] = field(default_factory=list)
    columnar: bool = False  # some record is columnar
    ids: bool = False  # some event may carry an event id (False: none does)
    vectors: bool = False  # some event may carry an embedding (False: none does)

    def _track_names(self, names: tuple[str, ...] | None) -> None:
        """Keep the records' shared input names; ``None`` once two records differ."""
        if not self.records:
            self.names = names
        elif names != self.names:
            self.names = None

    def add(self, rec: RawRecord, events: list[Any], names: tuple[str, ...] | None) -> None:
        self._track_names(names)
        self.events.extend(events)
        self.records.append(rec)
        self.counts.append(len(events))
        self.parts.append(events)
        self.ids = self.ids or any(e.event_id is not None for e in events)
        self.vectors = self.vectors or any(getattr(e, "embeddings", None) for e in events)

    def add_one(self, rec: RawRecord, event: Any, names: tuple[str, ...] | None) -> None:
        """``add`` of a record's single event without an embedding (the hot path)."""
        self._track_names(names)
        self.events.append(event)
        self.records.append(rec)
        self.counts.append(1)
        self.parts.append([event])
        self.ids = self.ids or event.event_id is not None

    def add_columns(self, rec: RawRecord, part: ColumnarRecord) -> None:
        self.columnar = True
        self.records.append(rec)
        self.counts.append(len(part))
        self.parts.append(part)
        self.ids = self.ids or part.event_ids is not None
        self.vectors = self.vectors or bool(part.vectors)

    def rows(self, column: str, dtype: type) -> np.ndarray:
        """A per-event array of a record attribute (offset, partition, timestamp)."""
        if len(self.records) == 1:
            return np.full(self.counts[0], getattr(self.records[0], column), dtype=dtype)
        values: np.ndarray = np.array([getattr(r, column) for r in self.records], dtype=dtype)
        return np.repeat(values, self.counts)


@dataclass
class Runtime:
    """A model's state in memory: its meta, held buckets, and the running window sums."""

    meta: ModelMeta
    buckets: dict[int, BucketRecord]
    sums: WindowSums
    pinned: PinnedBaseline | None
    last_seen: float = 0.0  # wall clock, for the idle timer
    dirty: set[int] = field(default_factory=set)
    # sums of each recent-window-long sub-window of the baseline (derived from the buckets,
    # not stored: rebuilt on load), keyed by sub-window start
    rollups: dict[int, dict[str, Histogram]] = field(default_factory=dict)
    frozen: dict[str, Reference] = field(default_factory=dict)  # streams in drift
    pinned_subs: dict[str, list[Histogram]] = field(default_factory=dict)
    hours: dict[int, dict[str, Histogram]] = field(default_factory=dict)  # seasonal roll-ups
    subsets: dict[str, Subwindows] = field(default_factory=dict)  # prepared per stream


class ProcessorBase:
    """The state every part of the processor reads, and the methods they call in each other."""

    spec: WindowSpec
    policy: DetectionPolicy
    hysteresis: Hysteresis
    hist: HistogramSettings
    limits: EventLimits
    store: Store
    event_time: EventTimeBounds | None
    max_evaluations: int
    dedup: DedupSettings
    detection: DetectionSettings
    vectors: VectorSettings
    models: dict[str, Runtime]
    _batch_dims: dict[str, dict[str, int]]

    def _runtime(self, model_id: str, partition: int) -> Runtime:
        raise NotImplementedError

    def _flush(self, rt: Runtime, out: Output) -> None:
        raise NotImplementedError

    def _rebuild_sums(self, rt: Runtime) -> None:
        raise NotImplementedError

    def _keep_hours(self, rt: Runtime, end: int, out: Output) -> None:
        raise NotImplementedError

    def _freeze(self, rt: Runtime, stream: str, end: int, out: Output) -> None:
        raise NotImplementedError

    def _thaw(self, rt: Runtime, stream: str, out: Output) -> None:
        raise NotImplementedError

    def _reference(self, rt: Runtime, stream: str, end: int) -> Reference:
        raise NotImplementedError

    def _input(self, rt: Runtime, stream: str, end: int) -> StreamInput | None:
        raise NotImplementedError

    def _rollup(self, rt: Runtime, start: int) -> dict[str, Histogram]:
        raise NotImplementedError

    def _advance(self, rt: Runtime, out: Output) -> None:
        raise NotImplementedError
