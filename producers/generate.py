"""Replay a scenario in event time: sample per chunk with numpy, batch, pace, write.

Events of model k are spaced 1/rate seconds of event time apart (with jitter inside each
slot), so a 26 h replay at rate 2 holds 187,200 inferences per model. Chunks of
``chunk_size`` events per model are sampled at once; records of ``batch_size`` inferences are
written to a sink, interleaved across models in event-time order. Event ids are derived from
the seed (``g<seed>-<model>-<n>``), so a replay is deterministic and re-sending it is idempotent.

Labels (``label_delay`` set): a ``label_share`` of the events, drawn from a generator of their
own (the events are the same with or without labels), get their ground truth (``Sample.truth``:
``positive`` / ``negative``, the predicted class names) timed ``label_delay`` seconds after the
event; label records go out in the same event-time order, so at ``speed`` 1 a label comes
``label_delay`` after its inference.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol

import numpy as np
import orjson

from producers.client import DriftClient
from producers.records import Event
from producers.scenarios import DriftSchedule, ModelSpec, Sample, Scenario, sample


@dataclass(frozen=True)
class Plan:
    """Everything that determines a replay's content (not its pace)."""

    models: tuple[ModelSpec, ...]
    scenario: Scenario
    schedule: DriftSchedule
    start: float  # epoch seconds of the first event slot
    duration: float  # seconds of event time
    rate: float  # inferences per second of event time, per model
    seed: int = 0
    batch_size: int = 100
    chunk_size: int = 20_000
    label_delay: float | None = None  # seconds after its event a label comes; None: no labels
    label_share: float = 1.0  # share of the events that get a label

    @property
    def per_model(self) -> int:
        return round(self.rate * self.duration)

    @property
    def total(self) -> int:
        return self.per_model * len(self.models)


class Sink(Protocol):
    """Where records go: ``write`` one record of one model's events."""

    def write(self, model_id: int | str, events: list[Event]) -> None: ...

    def write_labels(self, model_id: int | str, labels: list[Event]) -> None: ...


class JsonlSink:
    """One line per record: a JSON array of events (an object when batch_size is 1)."""

    def __init__(self, stream: IO[bytes], single: bool = False) -> None:
        self.stream = stream
        self.single = single

    def write(self, model_id: int | str, events: list[Event]) -> None:
        value = events[0] if self.single and len(events) == 1 else events
        self.stream.write(orjson.dumps(value) + b"\n")

    def write_labels(self, model_id: int | str, labels: list[Event]) -> None:
        """Labels are not written to a JSONL file of inference records."""


class KafkaSink:
    """Records through the SDK (idempotent producer, delivery counting)."""

    def __init__(self, client: DriftClient) -> None:
        self.client = client

    def write(self, model_id: int | str, events: list[Event]) -> None:
        self.client.log_many(model_id, events)

    def write_labels(self, model_id: int | str, labels: list[Event]) -> None:
        for lab in labels:
            self.client.log_label(model_id, lab["event_id"], lab["label"], lab["timestamp"])


def _rng(plan: Plan, model_index: int, chunk_index: int) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence(plan.seed, spawn_key=(model_index, chunk_index))
    )


def _values(v: np.ndarray) -> list[float | None]:
    """Rounded values, NaN (a missing value) as None: null in the JSON."""
    out: list[float | None] = np.round(v, 4).tolist()
    if np.isnan(v).any():
        out = [None if x != x else x for x in out]
    return out


def build_events(
    spec: ModelSpec, s: Sample, timestamps: list[float], ids: list[str]
) -> list[Event]:
    """Event dicts from sampled columns (rounded: 6 significant digits are plenty)."""
    numeric = {k: _values(v) for k, v in s.numeric.items()}
    categorical = {k: v.tolist() for k, v in s.categorical.items()}
    names = [*numeric, *categorical]
    inputs = zip(*numeric.values(), *categorical.values(), strict=True)
    scores = np.round(s.score, 4).tolist()
    classes = np.where(s.positive, "positive", "negative").tolist()
    confidence = np.round(s.confidence, 4).tolist()
    model_id = spec.model_id
    events: list[Event] = [
        {
            "event_id": event_id,
            "model_id": model_id,
            "timestamp": ts,
            "input_data": dict(zip(names, row, strict=True)),
            "prediction": {"class": cls, "score": score},
            "confidence": conf,
        }
        for event_id, ts, row, cls, score, conf in zip(
            ids, timestamps, inputs, classes, scores, confidence, strict=True
        )
    ]
    if s.embeddings:
        vectors = {k: np.round(v, 4).tolist() for k, v in s.embeddings.items()}
        for i, event in enumerate(events):
            event["embeddings"] = {k: v[i] for k, v in vectors.items()}
    return events


def chunk_events(plan: Plan, model_index: int, chunk_index: int) -> list[Event]:
    """The events of one model's chunk: a pure function of the plan (deterministic)."""
    return _chunk(plan, model_index, chunk_index)[0]


def chunk_labels(plan: Plan, model_index: int, chunk_index: int) -> list[Event]:
    """The labels of one model's chunk (none without ``label_delay``), in event order."""
    if plan.label_delay is None:
        return []
    events, truth = _chunk(plan, model_index, chunk_index)
    return _labels(plan, model_index, chunk_index, events, truth)


def _labels(plan: Plan, m: int, c: int, events: list[Event], truth: Any) -> list[Event]:
    assert plan.label_delay is not None
    rng = np.random.default_rng(np.random.SeedSequence(plan.seed, spawn_key=(m, c, 1)))
    chosen = rng.random(len(events)) < plan.label_share
    return [
        {
            "model_id": e["model_id"],
            "event_id": e["event_id"],
            "label": "positive" if y else "negative",
            "timestamp": round(e["timestamp"] + plan.label_delay, 3),
        }
        for e, y, keep in zip(events, truth.tolist(), chosen.tolist(), strict=True)
        if keep
    ]


def _chunk(plan: Plan, model_index: int, chunk_index: int) -> tuple[list[Event], Any]:
    spec = plan.models[model_index]
    first = chunk_index * plan.chunk_size
    n = min(plan.chunk_size, plan.per_model - first)
    rng = _rng(plan, model_index, chunk_index)
    slots = np.arange(first, first + n, dtype=np.float64)
    t = (slots + rng.random(n)) / plan.rate
    sampled = sample(spec, plan.scenario, t, plan.schedule, rng)
    timestamps = np.round(plan.start + t, 3).tolist()
    ids = [f"g{plan.seed}-{spec.model_id}-{i}" for i in range(first, first + n)]
    return build_events(spec, sampled, timestamps, ids), sampled.truth


def records(plan: Plan) -> Iterator[tuple[int | str, list[Event]]]:
    """(model id, batch of events), batches of all models interleaved in event-time order."""
    for model_id, batch, is_label in items(plan):
        if not is_label:
            yield model_id, batch


def items(plan: Plan) -> Iterator[tuple[int | str, list[Event], bool]]:
    """(model id, batch, is a batch of labels): event batches as ``records`` yields them, and
    label batches each before the first event batch timed after its first label."""
    chunks = -(-plan.per_model // plan.chunk_size)
    due: list[tuple[float, int, int | str, list[Event]]] = []  # a heap by label time
    order = 0
    for c in range(chunks):
        per_model = []
        for m, spec in enumerate(plan.models):
            events, truth = _chunk(plan, m, c)
            per_model.append(events)
            if plan.label_delay is not None:
                labels = _labels(plan, m, c, events, truth)
                for i in range(0, len(labels), plan.batch_size):
                    batch = labels[i : i + plan.batch_size]
                    heapq.heappush(due, (batch[0]["timestamp"], order, spec.model_id, batch))
                    order += 1
        longest = max((len(events) for events in per_model), default=0)
        for offset in range(0, longest, plan.batch_size):
            for spec, events in zip(plan.models, per_model, strict=True):
                batch = events[offset : offset + plan.batch_size]
                if batch:
                    while due and due[0][0] <= batch[0]["timestamp"]:
                        _, _, model_id, labels = heapq.heappop(due)
                        yield model_id, labels, True
                    yield spec.model_id, batch, False
    while due:
        _, _, model_id, labels = heapq.heappop(due)
        yield model_id, labels, True


def run(
    plan: Plan,
    sink: Sink,
    speed: float = 0.0,
    progress: Callable[[int], Any] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Write every record of ``plan`` to ``sink``; returns the number of inferences.

    ``speed`` 0 replays as fast as possible; otherwise ``speed`` seconds of event time pass per
    wall-clock second (1 = live).
    """
    written = 0
    wall_start = clock()
    for model_id, batch, is_label in items(plan):
        if speed > 0:
            due = wall_start + (batch[0]["timestamp"] - plan.start) / speed
            if (wait := due - clock()) > 0:
                sleep(wait)
        if is_label:
            sink.write_labels(model_id, batch)
            continue
        sink.write(model_id, batch)
        written += len(batch)
        if progress is not None:
            progress(len(batch))
    return written
