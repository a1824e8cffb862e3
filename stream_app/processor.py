"""The stream processor's logic, independent of faust: batches in, table writes and messages out.

``Processor.process`` takes raw records of one batch, decodes them, adds them to per-(model,
bucket) histograms, advances each model's event-time watermark and evaluates every window that
closes. It reads state through ``Store.get`` and returns everything to write, so the faust agent
stays thin and the logic is tested without a broker.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any, Protocol

import msgspec
import numpy as np

from drift import (
    DetectionPolicy,
    EventLimits,
    Histogram,
    Hysteresis,
    NumericHistogram,
    WindowSums,
)
from drift.categorical import CategoricalHistogram
from drift.columns import ColumnBatch, to_columns
from drift.eventtime import TIMESTAMP_IN_FUTURE, TIMESTAMP_TOO_OLD
from drift.fields import is_model_name
from drift.wire import DecodedStreams, decode_streams
from stream_app.evaluation import ModelReport, evaluate_model
from stream_app.state import (
    BucketRecord,
    ModelMeta,
    PinnedBaseline,
    Spans,
    bucket_key,
    in_spans,
    merge_spans,
    meta_key,
    offset_runs,
    pinned_key,
)
from stream_app.windows import WindowSpec

log = logging.getLogger(__name__)


class Store(Protocol):
    def get(self, key: str) -> bytes | None: ...


@dataclass(frozen=True)
class RawRecord:
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
    baselines: list[dict[str, Any]] = field(default_factory=list)
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


_NO_IDS = np.zeros(0, np.uint64)


def _id_hashes(gathered: Gathered) -> np.ndarray | None:
    """Per event the 64-bit hash of its explicit event id (``state.id_hash``), 0 without one
    (None: no event has one). Ids the decoder made up from the record's partition and offset
    are not explicit: the bucket's offset spans de-duplicate those."""
    ids = [e.event_id for e in gathered.events]
    if all(i is None for i in ids):
        return None
    digests: list[bytes] = []
    k = 0
    for rec, n in zip(gathered.records, gathered.counts, strict=True):
        seed = f"{rec.partition}-{rec.offset}"
        for eid in ids[k : k + n]:
            if eid is None or (eid.startswith(seed) and (eid == seed or eid[len(seed)] == ".")):
                digests.append(_NO_ID)
            else:
                digests.append(blake2b(eid.encode(), digest_size=8).digest())
        k += n
    return np.frombuffer(b"".join(digests), ">u8").astype(np.uint64)


_NO_ID = bytes(8)


class _Overlay:
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
    """An array of only the refused items of array record ``raw`` (None: keep ``raw``)."""
    items = _item_slices(raw)
    if items is None or len(refused) == len(items):
        return None
    return b"[" + b",".join(items[i] for i in refused) + b"]"


@dataclass
class Gathered:
    """A model's events of one batch, with the records they came from (runs of ``counts``)."""

    events: list[Any] = field(default_factory=list)
    records: list[RawRecord] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    names: tuple[str, ...] | None = None  # shared numeric input names (``decode_streams``)

    def add(self, rec: RawRecord, events: list[Any], names: tuple[str, ...] | None) -> None:
        if not self.records:
            self.names = names
        elif names != self.names:
            self.names = None
        self.events.extend(events)
        self.records.append(rec)
        self.counts.append(len(events))

    def rows(self, column: str, dtype: type) -> np.ndarray:
        """A per-event array of a record attribute (offset, partition, timestamp)."""
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


def _histograms(
    cols: ColumnBatch, rows: np.ndarray, settings: HistogramSettings, allowed: set[str]
) -> dict[str, Histogram]:
    out: dict[str, Histogram] = {}
    for name, values in cols.numeric.items():
        if name in allowed:
            h = NumericHistogram(settings.relative_accuracy)
            h.update(values[rows])
            out[name] = h
    for name, cats in cols.categorical.items():
        if name in allowed:
            c = CategoricalHistogram(settings.max_categories)
            c.update([cats[i] for i in rows])
            out[name] = c
    return out


def _held(applied: dict[int, Spans], parts: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per row, whether the bucket already holds the row's record (its offset in a span).

    A model's records normally share one partition, but a record under a null or another
    model's key arrives on another one; offsets only compare within a partition."""
    held = np.zeros(len(parts), bool)
    for partition, spans in applied.items():
        rows = parts == partition
        held[rows] = in_spans(spans, offsets[rows])
    return held


def _runs(records: list[RawRecord]) -> dict[int, Spans]:
    by_partition: dict[int, list[int]] = defaultdict(list)
    for rec in records:
        by_partition[rec.partition].append(rec.offset)
    return {p: offset_runs(np.array(offs, np.int64)) for p, offs in by_partition.items()}


def _rejection(rec: RawRecord, refused: list[tuple[int | None, str, str]]) -> Rejected:
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


@dataclass(frozen=True)
class HistogramSettings:
    relative_accuracy: float = 0.01
    max_categories: int = 100
    max_streams_per_model: int = 200
    max_models: int = 1000


class Processor:
    def __init__(
        self,
        spec: WindowSpec,
        policy: DetectionPolicy,
        hysteresis: Hysteresis,
        hist: HistogramSettings,
        limits: EventLimits,
        store: Store,
        event_time: EventTimeBounds | None = None,
        max_evaluations: int = 12,
        dedup: DedupSettings | None = None,
    ) -> None:
        self.spec, self.policy, self.hysteresis = spec, policy, hysteresis
        self.hist, self.limits, self.store = hist, limits, store
        self.event_time, self.max_evaluations = event_time, max(1, max_evaluations)
        self.dedup = dedup or DedupSettings()
        self.models: dict[str, Runtime] = {}
        self._touched: set[str] = set()  # models changed in memory by the batch under way
        self._forgotten: set[str] = set()

    def reset(self) -> None:
        """Forget cached state (after a rebalance); it reloads from the table on next use."""
        self.models.clear()

    # --- loading ---------------------------------------------------------------------------
    def _runtime(self, model_id: str, partition: int) -> Runtime:
        rt = self.models.get(model_id)
        if rt is not None:
            return rt
        raw = self.store.get(meta_key(model_id))
        meta = ModelMeta.from_bytes(raw) if raw else ModelMeta(model_id, partition)
        buckets = {}
        for start in meta.buckets:
            data = self.store.get(bucket_key(model_id, start))
            if data is not None:
                buckets[start] = BucketRecord.from_bytes(data)
        pinned_raw = self.store.get(pinned_key(model_id))
        pinned = PinnedBaseline.from_bytes(pinned_raw) if pinned_raw else None
        rt = Runtime(meta, buckets, WindowSums(), pinned, meta.last_seen)
        self._rebuild_sums(rt)
        self.models[model_id] = rt
        return rt

    def _rebuild_sums(self, rt: Runtime) -> None:
        rt.sums = WindowSums()
        end = rt.meta.next_end
        if end is None:
            return
        for start, rec in rt.buckets.items():
            side = self.spec.side(start, end)
            if side == "recent":
                rt.sums.add_to_recent(rec.hists)
            elif side == "baseline":
                rt.sums.add_to_baseline(rec.hists)

    # --- batches -----------------------------------------------------------------------------
    def process(self, records: Iterable[RawRecord], now: float) -> Output:
        """Process a batch; never raises. A batch that fails is tried once more (from the
        state before it), then record by record: a record that still fails is dead-lettered
        as ``processing_error`` naming the exception, and every other record counts."""
        records = list(records)
        for attempt in (1, 2):
            try:
                out = self._process(records, now)
                self._forgotten.clear()  # reloaded by the attempt that succeeded
                return out
            except Exception:
                log.exception("a batch of %d records failed (attempt %d)", len(records), attempt)
                self._forget()
        return self._one_by_one(records, now)

    def _forget(self) -> None:
        """Drop the in-memory state of the models a failed batch touched: they reload from
        the store, which holds only what earlier batches emitted."""
        for model_id in self._touched:
            self.models.pop(model_id, None)
        self._forgotten |= self._touched
        self._touched.clear()

    def _one_by_one(self, records: list[RawRecord], now: float) -> Output:
        merged = Output()
        merged.runs = _runs(records)
        base = self.store
        self.store = _Overlay(base, merged.writes)
        try:
            for rec in records:
                try:
                    merged.merge(self._process([rec], now))
                except Exception as exc:
                    log.exception("record %d-%d cannot be processed: dead-lettered",
                                  rec.partition, rec.offset)
                    self._forget()
                    error = f"{type(exc).__name__}: {exc}"
                    merged.rejected.append(
                        Rejected(rec, "processing_error", error, {"processing_error": 1})
                    )
            for model_id in self._forgotten - self.models.keys():
                if self.store.get(meta_key(model_id)) is not None:  # the idle timer needs it
                    self._runtime(model_id, 0).last_seen = now
        finally:
            self.store = base
            self._forgotten.clear()
        return merged

    def _process(self, records: list[RawRecord], now: float) -> Output:
        self._touched.clear()
        out = Output()
        by_model: dict[str, Gathered] = {}
        seen: set[tuple[int, int]] = set()
        records = list(records)
        # Runs of consecutive offsets of this chunk per partition, every model's records and
        # rejected ones included. A bucket touched here records them as taken in: records can
        # arrive out of order or with a gap (faust skips records of an older consumer
        # generation and delivers them again later), so "everything up to the highest offset"
        # would skip a record that has not been counted yet.
        out.runs = runs = _runs(records)
        for rec in records:
            # after a rebalance a batch can hold a record twice: fetched before it (an older
            # consumer generation) and again from the committed offset; count it once
            if (rec.partition, rec.offset) in seen:
                out.replayed += 1
                continue
            seen.add((rec.partition, rec.offset))
            self._decode(rec, by_model, out)
        for model_id, gathered in by_model.items():
            partition = gathered.records[0].partition
            self._touched.add(model_id)
            rt = self._runtime(model_id, partition)
            rt.last_seen = rt.meta.last_seen = now
            self._apply(rt, gathered, runs, out)
            self._advance(rt, out)
            self._flush(rt, out)
        return out

    def _decode(self, rec: RawRecord, by_model: dict[str, Gathered], out: Output) -> None:
        try:
            decoded = decode_streams(rec.value, self.limits, f"{rec.partition}-{rec.offset}")
        except Exception as exc:  # decoding is total; should a bug remain, the record is refused
            log.exception("decoding record %d-%d failed", rec.partition, rec.offset)
            error = f"{type(exc).__name__}: {exc}"
            out.rejected.append(Rejected(rec, "decode_error", error, {"decode_error": 1}))
            return
        if not decoded.errors and len(decoded.models) == 1 and self._fast(rec, decoded, by_model):
            return
        # refused: (item index or None for the whole record, reason, message)
        refused = [(e.index, e.reason, str(e)) for e in decoded.errors]
        events = decoded.events
        positions: list[int] | None = None  # item index of each event; None: 0..n-1
        if refused and events:
            taken = {i for i, _, _ in refused}
            positions = [i for i in range(len(events) + len(taken)) if i not in taken]
        if self.event_time is not None and events and rec.timestamp > 0:  # 0: no broker time
            events, positions = self._bound_times(rec, events, positions, refused)
        groups: dict[str, list[int]] = defaultdict(list)  # model → indices into events
        if len(decoded.models) == 1 and len(events) == len(decoded.events):
            groups[next(iter(decoded.models))] = list(range(len(events)))
        else:
            for k, event in enumerate(events):
                groups[event.model_id].append(k)
        for model_id, rows in groups.items():
            if (
                model_id not in self.models
                and model_id not in by_model
                and len(self.models.keys() | by_model.keys()) >= self.hist.max_models
            ):
                message = (f"model {model_id!r}: worker holds {self.hist.max_models} "
                           "models already")
                refused.extend(
                    (k if positions is None else positions[k], "too_many_models", message)
                    for k in rows
                )
                continue
            chosen = events if len(rows) == len(events) else [events[k] for k in rows]
            by_model.setdefault(model_id, Gathered()).add(rec, chosen, decoded.numeric_names)
        if refused:
            out.rejected.append(_rejection(rec, refused))

    def _fast(self, rec: RawRecord, decoded: DecodedStreams, by_model: dict[str, Gathered]) -> bool:
        """The common record (valid events of one admitted model, every time in bounds)
        gathered without the general path's bookkeeping; False: take the general path."""
        model_id = next(iter(decoded.models))
        gathered = by_model.get(model_id)
        if gathered is None and model_id not in self.models:
            return False
        bounds = self.event_time
        if bounds is not None and rec.timestamp > 0:
            high = rec.timestamp + bounds.max_future
            low = rec.timestamp - bounds.max_age if bounds.max_age > 0 else -math.inf
            for event in decoded.events:
                t = event.timestamp
                if t is not None and not low <= t <= high:
                    return False
        if gathered is None:
            gathered = by_model[model_id] = Gathered()
        gathered.add(rec, decoded.events, decoded.numeric_names)
        return True

    def _bound_times(
        self,
        rec: RawRecord,
        events: list[Any],
        positions: list[int] | None,
        refused: list[tuple[int | None, str, str]],
    ) -> tuple[list[Any], list[int] | None]:
        """Refuse the events whose time lies outside ``self.event_time`` around the record's
        broker timestamp (the rule of ``drift.eventtime.event_time_error``, inlined)."""
        bounds = self.event_time
        assert bounds is not None
        high = rec.timestamp + bounds.max_future
        low = rec.timestamp - bounds.max_age if bounds.max_age > 0 else -math.inf
        bad = [k for k, e in enumerate(events)
               if (t := e.timestamp) is not None and not low <= t <= high]
        if not bad:
            return events, positions
        for k in bad:
            t = events[k].timestamp
            reason = TIMESTAMP_IN_FUTURE if t > high else TIMESTAMP_TOO_OLD
            where = "after" if t > high else "before"
            refused.append((
                k if positions is None else positions[k],
                reason,
                f"event time {t} lies too far {where} the record's broker time {rec.timestamp}",
            ))
        drop = set(bad)
        keep = [k for k in range(len(events)) if k not in drop]
        kept_positions = [k if positions is None else positions[k] for k in keep]
        return [events[k] for k in keep], kept_positions

    def _apply(
        self, rt: Runtime, gathered: Gathered, runs: dict[int, Spans], out: Output
    ) -> None:
        meta = rt.meta
        offsets = gathered.rows("offset", np.int64)
        parts = gathered.rows("partition", np.int64)
        ingest = gathered.rows("timestamp", np.float64)
        cols = to_columns(
            gathered.events, math.nan, known_kinds=self._kinds(rt), numeric_names=gathered.names
        )
        ts = np.where(np.isnan(cols.timestamps), ingest, cols.timestamps)
        starts = (ts // self.spec.bucket).astype(np.int64) * self.spec.bucket
        allowed = self._allowed_streams(rt, cols)
        # every record of these runs was in this chunk, so the bucket holds all of its own
        spans = {p: runs[p] for p in {r.partition for r in gathered.records}}
        hashes = _id_hashes(gathered) if self.dedup.max_ids_per_bucket else None
        if meta.next_end is None:
            meta.next_end = int(starts.min()) + self.spec.bucket
        for start in np.unique(starts).tolist():
            rows = np.flatnonzero(starts == start)
            side = self.spec.side(start, meta.next_end)
            if side == "expired":
                out.late[meta.model_id] += len(rows)
                meta.late_dropped += len(rows)
                continue
            rec = rt.buckets.get(start) or BucketRecord(start)
            fresh = rows[~_held(rec.applied, parts[rows], offsets[rows])]
            out.replayed += len(rows) - len(fresh)
            new_ids = _NO_IDS
            if hashes is not None and len(fresh):
                fresh, new_ids, repeated = self._first_ids(rt, start, fresh, hashes)
                if repeated:
                    out.duplicates[meta.model_id] += repeated
            if len(fresh) == 0:
                continue
            delta = _histograms(cols, fresh, self.hist, allowed)
            for name, h in delta.items():
                held = rec.hists.get(name)
                if held is None:
                    rec.hists[name] = h
                else:
                    held += h  # type: ignore[operator,unused-ignore]
            for partition, taken in spans.items():
                rec.applied[partition] = merge_spans(rec.applied.get(partition, []), taken)
            room = self.dedup.max_ids_per_bucket - len(rec.ids)
            if len(new_ids) and room > 0:
                rec.ids = np.union1d(rec.ids, new_ids[:room])
            rt.buckets[start] = rec
            rt.dirty.add(start)
            out.counted[meta.model_id] += len(fresh)
            if side == "recent":
                rt.sums.add_to_recent(delta)
            elif side == "baseline":
                rt.sums.add_to_baseline(delta)
        meta.watermark = max(meta.watermark, float(ts.max()))

    def _first_ids(
        self, rt: Runtime, start: int, rows: np.ndarray, hashes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Drop the rows whose event id was counted already: held by a bucket within the
        dedup horizon of ``start``, or earlier among ``rows``. Returns (rows kept, their id
        hashes, how many were dropped)."""
        h = hashes[rows]
        with_id = np.flatnonzero(h)
        if len(with_id) == 0:
            return rows, _NO_IDS, 0
        hv = h[with_id]
        repeated = np.ones(len(hv), bool)
        repeated[np.unique(hv, return_index=True)[1]] = False
        horizon = self.dedup.horizon
        for other, rec in rt.buckets.items():
            if len(rec.ids) and abs(other - start) <= horizon:
                repeated |= np.isin(hv, rec.ids)
        if not repeated.any():
            return rows, hv, 0
        keep = np.ones(len(rows), bool)
        keep[with_id[repeated]] = False
        return rows[keep], hv[~repeated], int(repeated.sum())

    def _kinds(self, rt: Runtime) -> dict[str, Any]:
        for rec in rt.buckets.values():
            return {
                n: "numeric" if isinstance(h, NumericHistogram) else "categorical"
                for n, h in rec.hists.items()
            }
        return {}

    def _allowed_streams(self, rt: Runtime, cols: ColumnBatch) -> set[str]:
        known = set(rt.sums.streams())
        for rec in rt.buckets.values():
            known.update(rec.hists)
        room = self.hist.max_streams_per_model - len(known)
        new = sorted(set(cols.kinds()) - known)
        return known | set(new[: max(room, 0)])

    # --- window movement ---------------------------------------------------------------------
    def _advance(self, rt: Runtime, out: Output) -> None:
        """Evaluate the windows that close, with a bound per event: after a bucket holding data,
        the next ``max_evaluations // 2`` windows are evaluated, then the window jumps to where
        the next bucket with data enters it, or to the last ``max_evaluations - that`` windows
        before the watermark, whichever is first. Dense data has every window evaluated; one
        event after a long gap (sparse events) no longer evaluates every window of the span."""
        meta, spec = rt.meta, self.spec
        assert meta.next_end is not None
        head = max(1, self.max_evaluations // 2) * spec.bucket
        tail = self.max_evaluations - head // spec.bucket
        while spec.closes(meta.next_end, meta.watermark):
            if not rt.sums.streams() and not self._skip_empty(rt):
                break
            end = meta.next_end
            if not spec.closes(end, meta.watermark):
                break
            newest = max((b for b in rt.buckets if b < end), default=end)
            last = spec.bucket_of(meta.watermark - spec.lateness)  # the last end that closes
            if end - newest > head and last - end >= tail * spec.bucket:
                target = last - (tail - 1) * spec.bucket
                ahead = [b for b in rt.buckets if b >= end]
                if ahead:
                    target = min(target, min(ahead) + spec.bucket)
                if target > end:
                    self._jump(rt, target, out)
                    continue
            self._evaluate(rt, out)
            self._slide(rt, out)

    def _skip_empty(self, rt: Runtime) -> bool:
        """No data in the window: jump to the first window holding data (a gap in event time,
        instead of evaluating thousands of empty windows). False when nothing lies ahead."""
        meta, spec = rt.meta, self.spec
        assert meta.next_end is not None
        ahead = [start for start in rt.buckets if start >= meta.next_end]
        if not ahead:
            meta.next_end = spec.bucket_of(meta.watermark - spec.lateness) + spec.bucket
            return False
        meta.next_end = min(ahead) + spec.bucket
        self._rebuild_sums(rt)
        return True

    def _jump(self, rt: Runtime, end: int, out: Output) -> None:
        """Move the next window end to ``end``: buckets expired there are deleted, the sums
        rebuilt from the buckets left (one pass instead of one slide per skipped window)."""
        meta, spec = rt.meta, self.spec
        meta.next_end = end
        for start in [s for s in rt.buckets if spec.side(s, end) == "expired"]:
            del rt.buckets[start]
            rt.dirty.discard(start)
            out.writes[bucket_key(meta.model_id, start)] = (meta.partition, None)
        self._rebuild_sums(rt)

    def adopt(self, model_ids: Iterable[str], partitions: AbstractSet[int], now: float) -> int:
        """Load the state of stored models of ``partitions`` not running here yet; returns how
        many. After a rebalance (or a restart) a model that never sends again would otherwise
        keep its last window open forever: adopted, the idle timer closes it."""
        adopted = 0
        for model_id in model_ids:
            if model_id in self.models or len(self.models) >= self.hist.max_models:
                continue
            raw = self.store.get(meta_key(model_id))
            if raw is None:
                continue
            partition = ModelMeta.from_bytes(raw).partition
            if partition in partitions:
                self._runtime(model_id, partition).last_seen = now
                adopted += 1
        return adopted

    def evict_idle(self, now: float, idle_seconds: float) -> Output:
        """Delete the whole state (meta, buckets, pinned baseline: tombstones) of every model
        that sent no event for ``idle_seconds`` of wall-clock time, freeing its model slot:
        ids sent once (typos, junk) do not keep new models out for ever."""
        out = Output()
        for model_id, rt in list(self.models.items()):
            if not rt.meta.last_seen:  # stored before last_seen was: the clock starts now
                rt.meta.last_seen = now
            if now - rt.meta.last_seen < idle_seconds:
                continue
            meta = rt.meta
            for start in set(rt.buckets) | set(meta.buckets):
                out.writes[bucket_key(model_id, start)] = (meta.partition, None)
            out.writes[meta_key(model_id)] = (meta.partition, None)
            out.writes[pinned_key(model_id)] = (meta.partition, None)
            out.evicted.append(model_id)
            del self.models[model_id]
        return out

    def close_idle(self, now: float, idle_seconds: float) -> Output:
        """Close the open bucket of every model that sent nothing for ``idle_seconds``."""
        out = Output()
        for rt in list(self.models.values()):
            end = rt.meta.next_end
            if end is None or now - rt.last_seen < idle_seconds or rt.meta.watermark >= end:
                continue
            if not any(start < end for start in rt.buckets if start >= end - self.spec.bucket):
                continue
            rt.meta.watermark = float(end + self.spec.lateness)
            self._advance(rt, out)
            self._flush(rt, out)
        return out

    def _evaluate(self, rt: Runtime, out: Output) -> None:
        meta = rt.meta
        assert meta.next_end is not None
        policy = self.policy.with_overrides(meta.thresholds) if meta.thresholds else self.policy
        report = evaluate_model(meta, rt.sums, rt.pinned, policy, self.hysteresis, self.spec)
        if report is not None:
            out.reports.append(report)

    def _slide(self, rt: Runtime, out: Output) -> None:
        meta, spec = rt.meta, self.spec
        assert meta.next_end is not None
        end = meta.next_end
        entering, to_baseline = end, end - spec.recent
        leaving = end - spec.recent - spec.baseline
        if entering in rt.buckets:
            rt.sums.add_to_recent(rt.buckets[entering].hists)
        if to_baseline in rt.buckets:
            rt.sums.remove_from_recent(rt.buckets[to_baseline].hists)
            rt.sums.add_to_baseline(rt.buckets[to_baseline].hists)
        if leaving in rt.buckets:
            rt.sums.remove_from_baseline(rt.buckets[leaving].hists)
        meta.next_end = end + spec.bucket
        for start in [s for s in rt.buckets if spec.side(s, meta.next_end) == "expired"]:
            del rt.buckets[start]
            rt.dirty.discard(start)
            out.writes[bucket_key(meta.model_id, start)] = (meta.partition, None)

    def _flush(self, rt: Runtime, out: Output) -> None:
        meta = rt.meta
        oldest = meta.watermark - self.dedup.horizon - self.spec.bucket
        for start, rec in rt.buckets.items():  # ids beyond the dedup horizon are let go
            if len(rec.ids) and start < oldest:
                rec.ids = _NO_IDS
                rt.dirty.add(start)
        for start in rt.dirty:
            out.writes[bucket_key(meta.model_id, start)] = (
                meta.partition,
                rt.buckets[start].to_bytes(),
            )
        rt.dirty.clear()
        meta.buckets = sorted(rt.buckets)
        out.writes[meta_key(meta.model_id)] = (meta.partition, meta.to_bytes())

    # --- control commands --------------------------------------------------------------------
    def control(self, partition: int, command: dict[str, Any], now: float) -> Output:
        """Apply a control command. Like events, a command creates a model's state only under
        a valid model name and while the worker holds fewer than ``max_models`` models."""
        out = Output()
        if not isinstance(command, dict):
            log.warning("ignoring a control record that is not a JSON object")
            return out
        model_id = str(command.get("model_id", ""))
        action = command.get("action")
        if action not in ("set_thresholds", "pin_baseline", "unpin_baseline"):
            log.warning("ignoring unknown control action %r for model %r", action, model_id)
            return out
        if not is_model_name(model_id):
            log.warning("ignoring control action %r for an invalid model id %.80r",
                        action, model_id)
            return out
        if model_id not in self.models and len(self.models) >= self.hist.max_models:
            log.warning("ignoring control action %r for model %r: worker holds %d models",
                        action, model_id, self.hist.max_models)
            return out
        rt = self._runtime(model_id, partition)
        rt.meta.last_seen = rt.meta.last_seen or now  # a command alone does not keep it
        if action == "set_thresholds":
            rt.meta.thresholds = dict(command.get("thresholds") or {})
        elif action == "pin_baseline":
            self._pin(rt, now, out)
        elif action == "unpin_baseline":
            rt.meta.pinned, rt.pinned = False, None
            out.writes[pinned_key(model_id)] = (rt.meta.partition, None)
            out.baselines.append({"action": "unpin", "model_id": model_id})
        self._flush(rt, out)
        return out

    def _pin(self, rt: Runtime, now: float, out: Output) -> None:
        meta, spec = rt.meta, self.spec
        if meta.next_end is None:
            log.warning("cannot pin a baseline for %r: no data yet", meta.model_id)
            return
        hists = {s: rt.sums.baseline(s) for s in rt.sums.streams()}
        start = meta.next_end - spec.recent - spec.baseline
        rt.pinned = PinnedBaseline(hists, start, meta.next_end - spec.recent)
        meta.pinned = True
        out.writes[pinned_key(meta.model_id)] = (meta.partition, rt.pinned.to_bytes())
        out.baselines.append(
            {
                "action": "pin",
                "model_id": meta.model_id,
                "window_start": start,
                "window_end": meta.next_end - spec.recent,
                "pinned_at": now,
                "histograms": {s: h.to_bytes().hex() for s, h in hists.items()},
            }
        )
