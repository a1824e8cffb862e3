"""The labels sink: the labels topic into PostgreSQL `labels` (architecture.md, "Performance").

A record on the labels topic is one label or a JSON array of labels (the SDK batches them).
Each is validated (``drift.labels.validate_label``); a label without a timestamp gets its
record's broker time, so a replay gives it the same time. Labels of inferences already logged
more than the horizon before the label are ``too_late``: counted per model and not stored (a
label that comes before its inference is logged is judged when the window is computed, where
it is counted in ``too_late`` and not used). The rest go through
``performance_store.store_labels`` in the sink's transaction. Refused labels are copied to the
labels DLQ with a ``reason`` header once the batch is committed (the sink retries a batch the
database refused, and the copies must not be sent twice); a crash between the commit and the
copies loses the copies of that batch, never a label.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from confluent_kafka import Message, Producer
from prometheus_client import CollectorRegistry, Counter

from drift.labels import LabelEvent, label_delay_error, label_to_json, validate_label
from drift.schema import EventLimits, InvalidEvent
from sinks.performance_store import PerformanceSettings, store_labels

log = logging.getLogger(__name__)

INFERENCE_TIMES = """
SELECT i.model_id, i.event_id, extract(epoch FROM i.event_time)::double precision
FROM unnest(%s::text[], %s::text[]) AS n(model_id, event_id)
JOIN inference_logs i ON i.model_id = n.model_id AND i.event_id = n.event_id
"""


class LabelMetrics:
    """``drift_labels_total`` (stored, per model), ``drift_labels_rejected_total`` (to the
    labels DLQ, per reason) and ``drift_labels_too_late_total`` (per model); at most
    ``max_models`` model ids get series (the others count under ``_other``)."""

    def __init__(self, registry: CollectorRegistry, max_models: int = 1000) -> None:
        self.stored = Counter("drift_labels", "labels stored", ["model_id"], registry=registry)
        self.rejected = Counter(
            "drift_labels_rejected", "labels sent to the labels DLQ", ["reason"], registry=registry
        )
        self.too_late = Counter(
            "drift_labels_too_late",
            "labels later than the horizon after their inference, dropped",
            ["model_id"],
            registry=registry,
        )
        self._models: set[str] = set()
        self._cap = max_models

    def model(self, model_id: str) -> str:
        if model_id in self._models or len(self._models) < self._cap:
            self._models.add(model_id)
            return model_id
        return "_other"


@dataclass(frozen=True, slots=True)
class Refusal:
    value: bytes  # the label's own JSON (an item of an array: that item)
    key: bytes | None
    reason: str
    error: str


@dataclass
class _Decided:
    stored: list[LabelEvent]
    refused: list[Refusal]
    late_models: list[str]


def _items(msg: Message) -> list[Any] | InvalidEvent:
    try:
        body = orjson.loads(msg.value() or b"")
    except orjson.JSONDecodeError as exc:
        return InvalidEvent("bad_json", f"not JSON: {exc}")
    return body if isinstance(body, list) else [body]


class LabelWriter:
    """A ``TopicSink`` writer for the labels topic, with its ``committed`` hook."""

    def __init__(
        self,
        settings: PerformanceSettings,
        metrics: LabelMetrics,
        dlq: Callable[[], Producer] | None,
        dlq_topic: str,
        limits: EventLimits | None = None,
    ) -> None:
        self.settings, self.metrics, self.dlq_topic = settings, metrics, dlq_topic
        self._new_dlq = dlq  # built on the first refusal: most runs never need one
        self.dlq: Producer | None = None
        self.limits = limits or EventLimits()
        # per record (partition, offset): what to send and count once the batch is committed
        self._pending: dict[tuple[str, int, int], _Decided] = {}

    def __call__(self, conn: psycopg.Connection[Any], msgs: Sequence[Message]) -> None:
        decided = {self._key(m): self._validate(m) for m in msgs}
        labels = [lab for d in decided.values() for lab in d.stored]
        times = self._inference_times(conn, labels)
        for d in decided.values():
            self._drop_late(d, times)
        store_labels(
            conn, [lab for d in decided.values() for lab in d.stored], self.settings, time.time()
        )
        self._pending.update(decided)

    @staticmethod
    def _key(msg: Message) -> tuple[str, int, int]:
        return msg.topic() or "", msg.partition() or 0, msg.offset() or 0

    def _validate(self, msg: Message) -> _Decided:
        out = _Decided([], [], [])
        items = _items(msg)
        if isinstance(items, InvalidEvent):
            out.refused.append(Refusal(msg.value() or b"", msg.key(), items.reason, str(items)))
            return out
        broker_time = msg.timestamp()[1] / 1000.0
        for item in items:
            try:
                lab = validate_label(item, self.limits)
            except InvalidEvent as exc:
                value = orjson.dumps(item)
                out.refused.append(Refusal(value, msg.key(), exc.reason, str(exc)))
                continue
            if lab.timestamp is None:
                lab = LabelEvent(lab.model_id, lab.event_id, lab.label, broker_time)
            out.stored.append(lab)
        return out

    @staticmethod
    def _inference_times(
        conn: psycopg.Connection[Any], labels: list[LabelEvent]
    ) -> dict[tuple[str, str], float]:
        if not labels:
            return {}
        rows = conn.execute(
            INFERENCE_TIMES, ([lab.model_id for lab in labels], [lab.event_id for lab in labels])
        )
        return {(m, e): t for m, e, t in rows}

    def _drop_late(self, d: _Decided, times: dict[tuple[str, str], float]) -> None:
        kept = []
        for lab in d.stored:
            at = times.get((lab.model_id, lab.event_id))
            assert lab.timestamp is not None
            if at is not None and label_delay_error(
                lab.timestamp, at, self.settings.horizon_seconds
            ):
                d.late_models.append(lab.model_id)
                value = orjson.dumps(label_to_json(lab, lab.timestamp))
                error = (
                    f"label {lab.timestamp - at:.0f} s after its inference (horizon "
                    f"{self.settings.horizon_seconds:.0f} s)"
                )
                d.refused.append(Refusal(value, lab.model_id.encode(), "too_late", error))
            else:
                kept.append(lab)
        d.stored = kept

    def committed(self, msgs: Sequence[Message]) -> None:
        """After the commit: count, and copy the refused labels to the DLQ."""
        for msg in msgs:
            d = self._pending.pop(self._key(msg), None)
            if d is None:
                continue
            for lab in d.stored:
                self.metrics.stored.labels(self.metrics.model(lab.model_id)).inc()
            for model in d.late_models:
                self.metrics.too_late.labels(self.metrics.model(model)).inc()
            for r in d.refused:
                self.metrics.rejected.labels(r.reason).inc()
                self._copy(r, msg)
        self._pending.clear()  # what is left belongs to attempts that were not committed
        if self.dlq is not None:
            self.dlq.poll(0)

    def _copy(self, r: Refusal, msg: Message) -> None:
        if self.dlq is None and self._new_dlq is not None:
            self.dlq = self._new_dlq()
        if self.dlq is None:
            return
        headers: list[tuple[str, str | bytes | None]] = [
            ("reason", r.reason.encode()),
            ("error", r.error[:500].encode()),
            ("partition", str(msg.partition() or 0).encode()),
            ("offset", str(msg.offset() or 0).encode()),
        ]
        while True:
            try:
                self.dlq.produce(self.dlq_topic, r.value, r.key, headers=headers)
                return
            except BufferError:
                self.dlq.poll(0.1)


def dlq_producer(bootstrap: str) -> Producer:
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 20,
            "client.id": "driftmon-labels-sink",
        }
    )
