"""1,000 malformed records of many kinds among valid ones: each goes to the DLQ with its reason,
every valid event (also the valid items of a partly bad array, and events under a null or a
wrong key) is counted, the worker lives on.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from stream_support import STREAMS, event, metric, wait_for_totals

from drift import EventLimits
from drift.topics import Topics
from tests.integration.workers import WorkerProcess

pytestmark = pytest.mark.integration

T0 = 1_790_000_000 // 3600 * 3600
MODELS = ["v0", "v1"]
RECORDS, PER_RECORD = 2000, 10  # valid records per model, events per record
MALFORMED = 1000
LIMIT = EventLimits().max_record_bytes
BIG = LIMIT + 100  # bytes: over the worker's limit, under the broker's 1,048,588


def valid(i: int) -> dict[str, Any]:
    return event("v0", T0 + i * 0.01, np.random.default_rng(i))


def with_fields(i: int, **fields: Any) -> bytes:
    return orjson.dumps({**valid(i), "event_id": f"bad-{i}", **fields})


def without(i: int, name: str) -> bytes:
    body = {**valid(i), "event_id": f"bad-{i}"}
    del body[name]
    return orjson.dumps(body)


# (expected `reason` header, record factory); the index makes every record unique
KINDS: list[tuple[str, Callable[[int], bytes]]] = [
    ("bad_json", lambda i: f"{{not json {i}".encode()),
    ("bad_json", lambda i: b"\xff\xfe" + str(i).encode()),
    ("not_an_object", lambda i: str(i).encode()),
    ("not_an_object", lambda i: orjson.dumps(f"event {i}")),
    ("missing_model_id", lambda i: without(i, "model_id")),
    ("bad_model_id", lambda i: with_fields(i, model_id=f"no spaces {i}")),
    ("bad_timestamp", lambda i: with_fields(i, timestamp="yesterday")),
    ("bad_timestamp", lambda i: with_fields(i, timestamp=1_790_000_000_000 + i)),  # ms
    ("bad_timestamp", lambda i: with_fields(i, timestamp=-1)),
    ("bad_confidence", lambda i: with_fields(i, confidence="high")),
    ("bad_confidence", lambda i: with_fields(i, confidence=1.5)),
    ("missing_input_data", lambda i: without(i, "input_data")),
    ("bad_input_data", lambda i: with_fields(i, input_data=[1.0, 2.0])),
    ("bad_feature_value", lambda i: with_fields(i, input_data={"x": [1, 2]})),
    ("too_many_features", lambda i: with_fields(i, input_data={f"f{k}": k for k in range(201)})),
    ("string_too_long", lambda i: with_fields(i, input_data={"s": "x" * 300})),
    ("nul_character", lambda i: with_fields(i, input_data={"s": f"a\x00{i}"})),
    ("bad_metadata", lambda i: with_fields(i, metadata="v1")),
    ("too_many_events", lambda i: orjson.dumps([i] * 10_001)),
]
# arrays mixing valid and bad items: (reason, valid items it holds, factory)
MIXED: list[tuple[str, int, Callable[[int], bytes]]] = [
    (
        "missing_model_id",
        2,
        lambda i: orjson.dumps([valid(i), orjson.loads(without(i, "model_id")), valid(i)]),
    ),
    (
        "bad_confidence,not_an_object",
        1,
        lambda i: orjson.dumps([orjson.loads(with_fields(i, confidence="x")), valid(i), i]),
    ),
]
OVERSIZED = 3
STRAY_KEYS = [None, b"v0", b"not-a-model"]


def dlq_copy(value: bytes, n_valid: int) -> bytes:
    """What the DLQ holds of a record: the whole record, or of a partly valid array only its
    invalid items (a DLQ replay then counts nothing twice)."""
    if not n_valid:
        return value
    items = orjson.loads(value)
    bad = [
        item
        for item in items
        if not (isinstance(item, dict) and item.get("model_id") and item.get("confidence") == 0.9)
    ]
    return orjson.dumps(bad)


def malformed() -> Iterator[tuple[bytes, str, int]]:
    """(record, reason, valid events in it): 1,000 records cycling through every kind."""
    makers = [(r, 0, f) for r, f in KINDS] + MIXED
    for i in range(MALFORMED - OVERSIZED):
        reason, n_valid, make = makers[i % len(makers)]
        yield make(i), reason, n_valid
    for i in range(OVERSIZED):
        yield orjson.dumps({"model_id": "v0", "pad": f"{i}" + "x" * BIG}), "record_too_large", 0


def produce_all(bootstrap: str, topic: str) -> tuple[dict[bytes, str], int]:
    """Valid records of both models with the malformed ones spread among them; returns the
    expected reason per malformed record and the number of valid events in mixed arrays."""
    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 5,
            "partitioner": "murmur2_random",
            "message.max.bytes": 2_000_000,
        }
    )
    bad = list(malformed())
    every = RECORDS * len(MODELS) // len(bad)
    reasons, mixed_valid, n = {}, 0, 0
    partitions: dict[tuple[str, str], set[int]] = defaultdict(set)
    seen = {
        (m, kind): lambda err, msg, at=(m, kind): partitions[at].add(msg.partition())
        for m in MODELS
        for kind in ("model", "stray")
    }
    for r in range(RECORDS):
        for model in MODELS:
            t = T0 + r * PER_RECORD * 0.05
            rng = np.random.default_rng(n)
            body = [event(model, t + k * 0.05, rng) for k in range(PER_RECORD)]
            # every 10th v1 record under a null or another model's key: valid, yet on
            # another partition than the model's state
            key = model.encode() if model == "v0" or r % 10 else STRAY_KEYS[r // 10 % 3]
            kind = "model" if key == model.encode() else "stray"
            p.produce(topic, key=key, value=orjson.dumps(body), on_delivery=seen[model, kind])
            n += 1
            if n % every == 0 and bad:
                value, reason, n_valid = bad.pop()
                # the DLQ keeps the head of an oversized one, the bad items of a mixed one
                reasons[dlq_copy(value, n_valid)[:LIMIT]] = reason
                mixed_valid += n_valid
                p.produce(topic, key=b"v0", value=value)
            p.poll(0)
    assert not bad and p.flush(60) == 0
    assert partitions["v1", "stray"] - partitions["v1", "model"], "no stray on another partition"
    return reasons, mixed_valid


def read_topic(bootstrap: str, topic: str, partitions: int, want: int) -> list[Any]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"dlq-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "fetch.message.max.bytes": 2_000_000,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got: list[Any] = []
    deadline = time.monotonic() + 60
    try:
        while len(got) < want and time.monotonic() < deadline:
            got.extend(m for m in consumer.consume(500, 1.0) if not m.error())
    finally:
        consumer.close()
    return got


def test_malformed_records_go_to_the_dlq_and_valid_events_count(kafka, topic_prefix, tmp_path):
    worker = WorkerProcess(
        kafka.bootstrap,
        "postgresql://unused@127.0.0.1:1/unused",
        topic_prefix,
        tmp_path,
        bucket_seconds=10,
        recent_seconds=60,
        baseline_seconds=3600,
        lateness_seconds=0,
        sinks_enabled="false",
    )
    topics = Topics(f"{topic_prefix}-")
    kafka.create_topics(topics.all(), partitions=4)
    worker.start()
    try:
        reasons, mixed_valid = produce_all(kafka.bootstrap, topics.events)
        assert len(reasons) == MALFORMED
        expected = {(m, s): RECORDS * PER_RECORD for m in MODELS for s in STREAMS}
        for stream in STREAMS:
            expected["v0", stream] += mixed_valid
        wait_for_totals(kafka.bootstrap, worker.env["DRIFT_APP_ID"], expected, worker, 90)
        dlq = read_topic(kafka.bootstrap, topics.dlq, 4, MALFORMED)
        rejected = metric(worker.metrics_url, "drift_events_rejected_total")
        assert worker.proc is not None and worker.proc.poll() is None, worker.log_tail()
    finally:
        worker.stop()
    got = {m.value(): dict(m.headers() or []) for m in dlq}
    assert len(dlq) == MALFORMED and got.keys() == reasons.keys()
    wrong = {
        reason: headers.get("reason")
        for value, reason in reasons.items()
        if (headers := got[value]).get("reason") != reason.encode()
    }
    assert not wrong, wrong
    assert all(h.get("error") for h in got.values()), "a DLQ record without an error header"
    truncated = [h for h in got.values() if h.get("reason") == b"record_too_large"]
    assert len(truncated) == OVERSIZED
    assert all(int(h["truncated_from"]) > LIMIT for h in truncated), truncated
    # events per reason: a record refused whole counts once, an array item each
    assert rejected == sum(r.count(",") + 1 for r in reasons.values())
