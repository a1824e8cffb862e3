"""Shared helpers of the performance tests: logged inferences, labels on Kafka, readers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
import psycopg
from confluent_kafka import Consumer, Producer

T = TypeVar("T")
Event = tuple[str, float, str, float, str]  # event id, time, predicted, confidence, truth


def log_inferences(conn: psycopg.Connection[Any], model: str, events: Iterable[Event]) -> None:
    """Rows of ``inference_logs`` as the inference-log sink writes them."""
    with conn.cursor().copy(
        "COPY inference_logs (model_id, event_id, event_time, input_data, prediction, confidence)"
        " FROM STDIN"
    ) as copy:
        for eid, t, p, c, _ in events:
            copy.write_row(
                (model, eid, datetime.fromtimestamp(t, UTC), "{}", orjson.dumps(p).decode(), c)
            )


def produce(bootstrap: str, topic: str, records: Iterable[tuple[str, Any]]) -> None:
    """(key, JSON value) records, flushed."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for key, value in records:
        producer.produce(topic, orjson.dumps(value), key.encode())
    assert producer.flush(30) == 0


def read_topic(bootstrap: str, topic: str, n: int, timeout: float = 30.0) -> list[Any]:
    """The first ``n`` messages of ``topic`` (fails when fewer arrive in time)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{time.time_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    out: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < n and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                out.append(msg)
    finally:
        consumer.close()
    assert len(out) >= n, f"{topic}: {len(out)} of {n} messages"
    return out


def wait_for(check: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
