"""Helpers of the stream processor tests: event records, the worker's state read from its
changelog, and its /metrics.

The worker's exact counts live in its state table; reading the compacted changelog (last value
per key) sees what a restarted worker would recover, which is the state that must be exact.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import orjson
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from prometheus_client.parser import text_string_to_metric_families

from stream_app.state import BucketRecord
from stream_app.vector_state import is_vector_stream
from tests.integration.workers import WorkerProcess, query

FEATURES = ("x", "y", "z")
STREAMS = ("input.x", "input.y", "input.z", "prediction", "confidence")


def event(model: str, ts: float, rng: np.random.Generator) -> dict[str, Any]:
    x, y, z = rng.normal(0.0, 1.0, 3)
    return {
        "model_id": model,
        "timestamp": ts,
        "input_data": {"x": float(x), "y": float(y), "z": float(z)},
        "prediction": float(x + y),
        "confidence": 0.9,
    }


def records(
    models: list[str], t0: float, seconds: float, per_second: int, per_record: int, seed: int = 1
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Events of every model at ``per_second`` events/s of event time, in time order, packed
    ``per_record`` to a Kafka record (key = model id)."""
    rng = np.random.default_rng(seed)
    times = t0 + np.arange(int(seconds * per_second)) / per_second
    for model in models:
        for i in range(0, len(times), per_record):
            yield model, [event(model, float(t), rng) for t in times[i : i + per_record]]


def window_rows(dsn: str, vectors: bool = False) -> list[tuple[str, str, int]]:
    """(model, stream, window end) of every drift_runs row, duplicates kept; with
    ``vectors``, of vector streams (``multivariate``, on by default) too: when ``multivariate``
    starts depends on the batching (docs/architecture.md, "Vector streams"), so its windows
    are not a fixed set the tests could expect."""
    sql = "SELECT model_id, stream, extract(epoch FROM window_end)::bigint FROM drift_runs"
    if not vectors:
        sql += " WHERE stream_kind <> 'vector'"
    return [(m, s, int(e)) for m, s, e in query(dsn, sql)]


_NOT_READY = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._TIMED_OUT,
}


def changelog_topic(app_id: str) -> str:
    return f"{app_id}-model-state-changelog"


def read_changelog(bootstrap: str, app_id: str) -> dict[bytes, bytes]:
    """The compacted view of the state table: the last value of every key (tombstones drop it),
    committed transactions only."""
    topic = changelog_topic(app_id)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",  # what a restore sees: no aborted writes
            "enable.partition.eof": False,
        }
    )
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        if meta.error is not None:
            return {}
        ends = {}
        for p in meta.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        state: dict[bytes, bytes] = {}
        deadline = time.monotonic() + 60
        while ends and time.monotonic() < deadline:
            for msg in consumer.consume(5000, timeout=1.0):
                if msg.error():
                    continue
                key, value = msg.key(), msg.value()
                assert key is not None
                if value is None:
                    state.pop(key, None)
                else:
                    state[key] = value
            # a transactional topic ends with a commit marker, not a message: the position
            # passes the end without a message at end - 1
            for tp in consumer.position([TopicPartition(topic, p) for p in list(ends)]):
                if tp.offset >= ends[tp.partition]:
                    ends.pop(tp.partition, None)
        assert not ends, f"changelog {topic} not read to its end: {ends}"
        return state
    finally:
        consumer.close()


def changelog_totals(bootstrap: str, app_id: str) -> dict[tuple[str, str], int]:
    """Events held per (model, stream): hist.count + hist.missing summed over bucket records."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for key, value in read_changelog(bootstrap, app_id).items():
        text = key.decode()
        if text.startswith('"'):  # faust writes str keys JSON-encoded
            text = orjson.loads(text)
        parts = text.split("|")
        if len(parts) != 3 or parts[1] != "b":
            continue
        for stream, hist in BucketRecord.from_bytes(value).hists.items():
            totals[parts[0], stream] += hist.count + hist.missing
    return dict(totals)


def wait_for_totals(
    bootstrap: str,
    app_id: str,
    expected: dict[tuple[str, str], int],
    worker: WorkerProcess,
    timeout: float,
    settle: float = 3.0,
) -> dict[tuple[str, str], int]:
    """Poll the changelog until its totals equal ``expected`` and stay so for ``settle`` s
    (a double count would keep growing past it); returns the last totals read.

    If ``expected`` names no vector stream, the vector streams (``multivariate``, on by
    default, whose start depends on the batching) are not compared to it: each must count
    at most as many events as its model's largest expected stream, its projections exactly as
    many as itself, and stay unchanged while settling."""
    deadline = time.monotonic() + timeout
    totals: dict[tuple[str, str], int] = {}
    equal_since: float | None = None
    split = not any(is_vector_stream(s) for _, s in expected)
    most: dict[str, int] = defaultdict(int)
    for (model, _), n in expected.items():
        most[model] = max(most[model], n)
    last_vectors: dict[tuple[str, str], int] | None = None
    while time.monotonic() < deadline:
        if worker.proc is not None and worker.proc.poll() is not None:
            raise AssertionError(f"worker exited:\n{worker.log_tail()}")
        try:
            totals = changelog_totals(bootstrap, app_id)
        except KafkaException as exc:  # a changelog partition just created, no leader yet
            if exc.args[0].code() not in _NOT_READY:
                raise
            time.sleep(0.5)
            continue
        plain, vectors = totals, {}
        if split:
            plain = {k: v for k, v in totals.items() if not is_vector_stream(k[1])}
            vectors = {k: v for k, v in totals.items() if is_vector_stream(k[1])}
            over = {k: v for k, v in vectors.items() if v > most[k[0]]}
            assert not over, f"vector streams counted twice: {over} > {dict(most)}"
        if plain == expected and vectors == last_vectors:
            equal_since = equal_since or time.monotonic()
            if time.monotonic() - equal_since >= settle:
                uneven = {
                    k: v
                    for k, v in vectors.items()
                    if v != vectors.get((k[0], re.sub(r"\.p\d+$", "", k[1])), v)
                }
                assert not uneven, f"projections apart from their stream: {uneven}"
                return totals
        else:
            equal_since = None
            over = {k: v for k, v in plain.items() if v > expected.get(k, 0)}
            assert not over, f"counted twice: {over} > {expected}"
        last_vectors = vectors
        time.sleep(0.5)
    raise AssertionError(
        f"changelog totals {totals} never settled at {expected}\n{worker.log_tail()}"
    )


def rewind_group(bootstrap: str, group: str, topic: str, partitions: int, timeout: float) -> None:
    """Set ``group``'s committed offsets on ``topic`` back to 0, once the group is empty (a
    killed member leaves it after its session timeout). Everything consumed so far is then
    replayed: the worst case of a crash between writing state and committing offsets."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    request = ConsumerGroupTopicPartitions(
        group, [TopicPartition(topic, p, 0) for p in range(partitions)]
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            done = admin.alter_consumer_group_offsets([request])[group].result(10)
            errors = [tp.error for tp in done.topic_partitions if tp.error is not None]
            if not errors:
                return
            problem: object = errors[0]
        except KafkaException as exc:
            problem = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"could not rewind group {group}: {problem}")
        time.sleep(0.5)


def metric(url: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels`` (0 when absent or down)."""
    try:
        text = httpx.get(url, timeout=5).text
    except httpx.HTTPError:
        return 0.0
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total
