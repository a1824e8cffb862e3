"""The stream processor's logic, independent of the Kafka loop: batches in, writes and messages out.

``Processor.process`` takes raw records of one batch, decodes them (rows or columnar records),
adds them to per-(model, bucket) histograms, advances each model's event-time watermark and
evaluates every window that closes. It reads state through ``Store.get`` and returns
everything to write, so the loop stays thin and the logic is tested without a broker.

Its parts: ``gathering`` (decoding, per-model gathering, rejections), ``counting`` (buckets,
dedup), ``movement`` (windows, evaluation), ``references`` (baselines), ``commands`` (control
topic); the types they share live in ``records``, ``tuning`` and ``runtime`` and are
re-exported here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from collections.abc import Set as AbstractSet

from drift import DetectionPolicy, EventLimits, Hysteresis, WindowSums
from stream_app.commands import Commands
from stream_app.counting import _NO_IDS, Counting
from stream_app.gathering import Gathering
from stream_app.movement import WindowMovement
from stream_app.records import Output, Overlay, RawRecord, Rejected, Store, runs
from stream_app.references import Baselines
from stream_app.runtime import Gathered, Runtime
from stream_app.state import (
    BucketRecord,
    ModelMeta,
    PinnedBaseline,
    Reference,
    bucket_key,
    hour_key,
    meta_key,
    pinned_key,
    reference_key,
)
from stream_app.tuning import (
    DedupSettings,
    DetectionSettings,
    EventTimeBounds,
    HistogramSettings,
    VectorSettings,
)
from stream_app.windows import WindowSpec

__all__ = [
    "DedupSettings",
    "DetectionSettings",
    "EventTimeBounds",
    "Gathered",
    "HistogramSettings",
    "Output",
    "Processor",
    "RawRecord",
    "Rejected",
    "Runtime",
    "Store",
    "VectorSettings",
]

log = logging.getLogger(__name__)


class Processor(Gathering, Counting, WindowMovement, Baselines, Commands):
    def __init__(
        self,
        spec: WindowSpec,
        policy: DetectionPolicy,
        hysteresis: Hysteresis,
        hist: HistogramSettings,
        limits: EventLimits,
        store: Store,
        event_time: EventTimeBounds | None = None,
        max_evaluations: int = 24,
        dedup: DedupSettings | None = None,
        detection: DetectionSettings | None = None,
        vectors: VectorSettings | None = None,
    ) -> None:
        self.spec, self.policy, self.hysteresis = spec, policy, hysteresis
        self.hist, self.limits, self.store = hist, limits, store
        self.event_time, self.max_evaluations = event_time, max(1, max_evaluations)
        self.dedup = dedup or DedupSettings()
        self.detection = detection or DetectionSettings()
        self.vectors = vectors or VectorSettings()
        self._batch_dims: dict[str, dict[str, int]] = {}  # embedding dims first seen in a batch
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
        for stream in meta.frozen:
            data = self.store.get(reference_key(model_id, "f", stream))
            if data is not None:
                rt.frozen[stream] = Reference.from_bytes(data)
        for stream in pinned.hists if pinned else ():
            data = self.store.get(reference_key(model_id, "ps", stream))
            if data is not None:
                rt.pinned_subs[stream] = Reference.from_bytes(data).subwindows
        for start in meta.hours:
            data = self.store.get(hour_key(model_id, start))
            if data is not None:
                rt.hours[start] = BucketRecord.from_bytes(data).hists
        self._rebuild_sums(rt)
        self.models[model_id] = rt
        return rt

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
        merged.runs = runs(records)
        base = self.store
        self.store = Overlay(base, merged.writes)
        try:
            for rec in records:
                try:
                    merged.merge(self._process([rec], now))
                except Exception as exc:
                    log.exception(
                        "record %d-%d cannot be processed: dead-lettered", rec.partition, rec.offset
                    )
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
        self._batch_dims.clear()
        out = Output()
        by_model: dict[str, Gathered] = {}
        seen: set[tuple[int, int]] = set()
        records = list(records)
        # Runs of consecutive offsets of this chunk per partition, every model's records and
        # rejected ones included. A bucket touched here records them as taken in: records can
        # arrive out of order or with a gap (faust skips records of an older consumer
        # generation and delivers them again later), so "everything up to the highest offset"
        # would skip a record that has not been counted yet.
        out.runs = batch_runs = runs(records)
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
            self._apply(rt, gathered, batch_runs, out)
            self._advance(rt, out)
            self._flush(rt, out)
        return out

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
        """Delete the whole state (meta, buckets, pinned and frozen baselines, seasonal roll-ups:
        tombstones) of every model
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
            for stream in set(rt.frozen) | set(meta.frozen):
                out.writes[reference_key(model_id, "f", stream)] = (meta.partition, None)
            for stream in rt.pinned_subs:
                out.writes[reference_key(model_id, "ps", stream)] = (meta.partition, None)
            for start in set(rt.hours) | set(meta.hours):
                out.writes[hour_key(model_id, start)] = (meta.partition, None)
            out.evicted.append(model_id)
            del self.models[model_id]
        return out

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
