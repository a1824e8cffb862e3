"""What goes through the processor: raw records in, an ``Output`` (writes, messages, DLQ) out."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol

import msgspec
import numpy as np

from drift import columnar
from drift.messages import BaselineRecord
from stream_app.evaluation import ModelReport
from stream_app.state import Spans, offset_runs


class Store(Protocol):
    def get(self, key: str) -> bytes | None: ...


class RawRecord(msgspec.Struct, frozen=True, gc=False):
    """One consumed record as the loop hands it over (a Struct: made once per record, ~5x
    cheaper than a frozen dataclass)."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp: float  # broker timestamp (s): the ingest time of events without one


@dataclass(frozen=True)
class Rejected:
    """What of a record goes to the DLQ: ``value`` holds only the refused events (the whole
    record for a single event or a record refused as a whole), ``counts`` the refused events
    per reason (a record refused as a whole counts once)."""

    record: RawRecord
    reason: str
    error: str
    counts: dict[str, int] = field(default_factory=dict)
    value: bytes | None = None  # None: the record's own bytes

    @property
    def dlq_value(self) -> bytes:
        return self.record.value if self.value is None else self.value


@dataclass
class Output:
    writes: dict[str, tuple[int, bytes | None]] = field(default_factory=dict)
    reports: list[ModelReport] = field(default_factory=list)
    baselines: list[BaselineRecord] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    counted: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    late: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    replayed: int = 0
    evicted: list[str] = field(default_factory=list)  # models whose state was deleted
    duplicates: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # same event id
    runs: dict[int, Spans] = field(default_factory=dict)  # offsets of the batch per partition

    def merge(self, other: Output) -> None:
        """Add ``other`` (the output of a later part of the same batch) to this one."""
        self.writes.update(other.writes)
        self.reports.extend(other.reports)
        self.baselines.extend(other.baselines)
        self.rejected.extend(other.rejected)
        self.evicted.extend(other.evicted)
        for model_id, n in other.counted.items():
            self.counted[model_id] += n
        for model_id, n in other.late.items():
            self.late[model_id] += n
        for model_id, n in other.duplicates.items():
            self.duplicates[model_id] += n
        self.replayed += other.replayed


class Overlay:
    """The store as a batch's pending writes will leave it (used while a batch is processed
    record by record: a reloaded model must see the records processed before)."""

    def __init__(self, base: Store, writes: dict[str, tuple[int, bytes | None]]) -> None:
        self.base, self.writes = base, writes

    def get(self, key: str) -> bytes | None:
        if key in self.writes:
            return self.writes[key][1]
        return self.base.get(key)


def _item_slices(raw: bytes) -> list[bytes] | None:
    """The raw bytes of each item of an array record (None when that cannot be had)."""
    try:
        return [bytes(r) for r in msgspec.json.decode(raw, type=list[msgspec.Raw])]
    except (msgspec.DecodeError, RecursionError):
        return None


def _dlq_copy(raw: bytes, refused: list[int]) -> bytes | None:
    """A record of only the refused items of array or columnar record ``raw`` (None: keep
    ``raw``), so a replay of the DLQ copy counts nothing twice."""
    if columnar.looks_columnar(raw):
        return columnar.subset(raw, refused)
    items = _item_slices(raw)
    if items is None or len(refused) == len(items):
        return None
    return b"[" + b",".join(items[i] for i in refused) + b"]"


def runs(records: list[RawRecord]) -> dict[int, Spans]:
    by_partition: dict[int, list[int]] = defaultdict(list)
    for rec in records:
        by_partition[rec.partition].append(rec.offset)
    return {p: offset_runs(np.array(offs, np.int64)) for p, offs in by_partition.items()}


def rejection(rec: RawRecord, refused: list[tuple[int | None, str, str]]) -> Rejected:
    """One DLQ entry for a record's refused events: their reasons (joined, sorted), the first
    20 messages, the count per reason, and a copy holding only them."""
    counts: dict[str, int] = defaultdict(int)
    for _, reason, _ in refused:
        counts[reason] += 1
    indices = sorted({i for i, _, _ in refused if i is not None})
    whole = any(i is None for i, _, _ in refused)
    value = None if whole or not indices else _dlq_copy(rec.value, indices)
    message = "; ".join(m for _, _, m in refused[:20])
    return Rejected(rec, ",".join(sorted(counts)), message, dict(counts), value)
