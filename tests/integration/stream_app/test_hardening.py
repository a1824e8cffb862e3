"""Issue 17, the worker side, on the real stack (Kafka and PostgreSQL from the harness): a poison
record, a far-future event, retried event ids, sparse event times and the web server."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from confluent_kafka import Producer
from stream_support import STREAMS, metric, read_changelog, wait_for_totals, window_rows

from drift.topics import Topics
from tests.integration.stream_app.test_malformed import read_topic
from tests.integration.workers import WorkerProcess, produce, query, wait_for

pytestmark = pytest.mark.integration

T0 = 1_790_000_000 // 3600 * 3600
NO_DB = "postgresql://unused@127.0.0.1:1/unused"
NESTED = '{"a":' * 600 + "1" + "}" * 600
POISON = ('{"model_id":7,"input_data":{"a":1.0},"metadata":' + NESTED + "}").encode()


def good(model: str, ts: float | None, i: int, **extra: Any) -> dict[str, Any]:
    body = {
        "model_id": model,
        "input_data": {"x": float(i % 7)},
        "prediction": 1.0,
        "confidence": 0.5,
        **extra,
    }
    if ts is not None:
        body["timestamp"] = ts
    return body


def streams_of(model: str, n: int) -> dict[tuple[str, str], int]:
    return {(model, s): n for s in ("input.x", "prediction", "confidence")}


def test_a_poison_record_among_400_good_ones_is_dead_lettered_and_the_worker_lives(
    kafka, topic_prefix, tmp_path
):
    topics = Topics(f"{topic_prefix}-")
    kafka.create_topics(topics.all(), partitions=4)
    worker = WorkerProcess(kafka.bootstrap, NO_DB, topic_prefix, tmp_path, sinks_enabled="false")
    worker.start()
    try:
        values: list[tuple[str, Any]] = [("m1", good("m1", T0 + i, i)) for i in range(200)]
        values.append(("m1", POISON))  # one key: the poison sits between the good records
        values += [("m1", good("m1", T0 + 200 + i, i)) for i in range(200)]
        produce(kafka.bootstrap, topics.events, values)
        wait_for_totals(
            kafka.bootstrap, worker.env["DRIFT_APP_ID"], streams_of("m1", 400), worker, 90
        )
        dlq = read_topic(kafka.bootstrap, topics.dlq, 4, 1)
        rejected = metric(worker.metrics_url, "drift_events_rejected_total", reason="too_deep")
        assert worker.proc is not None and worker.proc.poll() is None, worker.log_tail()
    finally:
        worker.stop()
    assert [(m.value(), dict(m.headers() or [])["reason"]) for m in dlq] == [(POISON, b"too_deep")]
    assert dict(dlq[0].headers() or [])["offset"] == b"200"
    assert rejected == 1


def _produce_at(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]]) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "partitioner": "murmur2_random"})
    for key, value in values:
        p.produce(topic, key=key, value=value)
    assert p.flush(30) == 0


def test_a_far_future_event_is_refused_and_later_events_count(kafka, topic_prefix, tmp_path):
    topics = Topics(f"{topic_prefix}-")
    kafka.create_topics(topics.all(), partitions=4)
    worker = WorkerProcess(
        kafka.bootstrap,
        NO_DB,
        topic_prefix,
        tmp_path,
        sinks_enabled="false",
        bucket_seconds=10,
        recent_seconds=60,
        baseline_seconds=600,
        lateness_seconds=0,
        max_event_age_seconds=660,
    )
    worker.start()
    try:
        now = time.time()  # the broker stamps the records now: the bounds are relative to it
        values = [
            (b"m1", orjson.dumps(good("m1", 9_999_999_999, 0))),
            (b"m1", orjson.dumps(good("m1", 0, 1))),
            (b"m1", orjson.dumps([good("m1", now - 30, 2), good("m1", now + 3600, 3)])),
        ]
        values += [(b"m1", orjson.dumps(good("m1", now - 20 + i * 0.05, i))) for i in range(300)]
        _produce_at(kafka.bootstrap, topics.events, values)
        wait_for_totals(
            kafka.bootstrap, worker.env["DRIFT_APP_ID"], streams_of("m1", 301), worker, 90
        )
        dlq = read_topic(kafka.bootstrap, topics.dlq, 4, 3)
        future = metric(
            worker.metrics_url, "drift_events_rejected_total", reason="timestamp_in_future"
        )
        old = metric(worker.metrics_url, "drift_events_rejected_total", reason="timestamp_too_old")
        late = metric(worker.metrics_url, "drift_late_events_total")
    finally:
        worker.stop()
    assert (future, old, late) == (2, 1, 0)
    reasons = sorted(dict(m.headers() or [])["reason"] for m in dlq)
    assert reasons == [b"timestamp_in_future", b"timestamp_in_future", b"timestamp_too_old"]
    mixed = next(m for m in dlq if m.value().startswith(b"["))
    assert [e["timestamp"] for e in orjson.loads(mixed.value())] == [now + 3600]  # its bad one


SINKS = {
    "bucket_seconds": 10,
    "recent_seconds": 60,
    "baseline_seconds": 300,
    "lateness_seconds": 0,
    "idle_close_seconds": 1,
}


def test_the_same_event_id_three_times_is_counted_and_stored_once(
    kafka, db_dsn, topic_prefix, tmp_path
):
    topics = Topics(f"{topic_prefix}-")
    worker = WorkerProcess(kafka.bootstrap, db_dsn, topic_prefix, tmp_path, **SINKS)
    worker.start()
    try:
        # retries of one event without a timestamp (each attempt stamped when received, as
        # the API does), 100 distinct events, then a record replayed as a new record
        retried = [("dup", good("dup", T0 + 5 + k * 7, 0, event_id="retried")) for k in range(3)]
        others = [("dup", good("dup", T0 + 10 + i * 0.1, i, event_id=f"e-{i}")) for i in range(100)]
        produce(kafka.bootstrap, topics.events, retried + others + others[:10])
        wait_for_totals(
            kafka.bootstrap, worker.env["DRIFT_APP_ID"], streams_of("dup", 101), worker, 90
        )
        wait_for(
            lambda: query(db_dsn, "SELECT count(*) FROM inference_logs") == [(101,)],
            90,
            "101 stored inferences",
            worker,
        )
        time.sleep(2)  # a second copy would land within the sinks' next batches
        stored = query(db_dsn, "SELECT count(*) FROM inference_logs WHERE event_id = 'retried'")
        total = query(db_dsn, "SELECT count(*) FROM inference_logs")
        duplicates = metric(worker.metrics_url, "drift_duplicate_events_total", model_id="dup")
    finally:
        worker.stop()
    assert stored == [(1,)] and total == [(101,)]
    assert duplicates == 12


def test_sparse_events_write_a_bounded_number_of_windows(kafka, db_dsn, topic_prefix, tmp_path):
    # 20 events 26 h apart, 5 streams: each closed every window of the 25 h span before it
    # (28,500 drift_runs rows); now at most 12 evaluations per event: at most 20 * 12 * 5
    topics = Topics(f"{topic_prefix}-")
    worker = WorkerProcess(
        kafka.bootstrap,
        db_dsn,
        topic_prefix,
        tmp_path,
        min_recent=1,
        min_baseline=1,
        idle_close_seconds=1,
    )
    worker.start()
    try:
        values = [
            (
                "sparse",
                {
                    "model_id": "sparse",
                    "timestamp": T0 + i * 26 * 3600,
                    "input_data": {"x": 1.0, "y": 2.0, "z": 3.0},
                    "prediction": 1.0,
                    "confidence": 0.5,
                },
            )
            for i in range(20)
        ]
        produce(kafka.bootstrap, topics.events, values)
        wait_for_totals(
            kafka.bootstrap,
            worker.env["DRIFT_APP_ID"],
            {("sparse", s): 1 for s in STREAMS},
            worker,
            90,
        )
        last_end = T0 + 19 * 26 * 3600 // 300 * 300 + 300
        # the idle timer closes the last event's window: its rows are the last ones written
        wait_for(
            lambda: any(e == last_end for _, _, e in window_rows(db_dsn)),
            90,
            "the last window's rows",
            worker,
        )
        time.sleep(2)
        rows = window_rows(db_dsn)
    finally:
        worker.stop()
    assert len(rows) == len(set(rows)) <= 20 * 12 * len(STREAMS), len(rows)


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on ``port`` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":  # LISTEN
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def test_the_web_server_binds_the_setting_and_serves_no_tables(kafka, topic_prefix, tmp_path):
    topics = Topics(f"{topic_prefix}-")
    kafka.create_topics(topics.all(), partitions=4)
    worker = WorkerProcess(
        kafka.bootstrap, NO_DB, topic_prefix, tmp_path, sinks_enabled="false", web_host="127.0.0.1"
    )
    worker.start()
    try:
        produce(kafka.bootstrap, topics.events, [("m1", good("m1", T0, 1))])
        wait_for_totals(
            kafka.bootstrap, worker.env["DRIFT_APP_ID"], streams_of("m1", 1), worker, 90
        )
        base = f"http://127.0.0.1:{worker.web_port}"
        metrics = httpx.get(f"{base}/metrics", timeout=5)
        pages = {
            path: httpx.get(f"{base}{path}", timeout=5).status_code
            for path in (
                "/table/",
                "/table/model-state/",
                "/table/model-state/m1%7Cmeta/",
                "/router/",
                "/graph/",
                "/assignment/",
            )
        }
        bound = _listening_addresses(worker.web_port)
    finally:
        worker.stop()
    assert metrics.status_code == 200 and "drift_model_slots" in metrics.text
    assert set(pages.values()) == {404}, pages
    assert bound == {"127.0.0.1"}


def test_migration_003_keeps_the_first_row_of_a_retried_event(postgres, tmp_path):
    from sql.migrations import MIGRATIONS_DIR, migrate

    dsn = postgres.create_database(f"m_{uuid.uuid4().hex[:12]}")
    for name in ("001_init.sql", "002_api_history_index.sql"):
        (tmp_path / name).write_text((MIGRATIONS_DIR / name).read_text())
    migrate(dsn, tmp_path)
    rows = [
        ("m", "retried", T0),
        ("m", "retried", T0 + 7),
        ("m", "retried", T0 + 14),
        ("m", "reused-next-day", T0),
        ("m", "reused-next-day", T0 + 86400),
        ("m", "e", T0),
    ]
    with psycopg.connect(dsn) as conn:
        for model, event_id, ts in rows:
            conn.execute(
                "INSERT INTO inference_logs (model_id, event_id, event_time, input_data)"
                " VALUES (%s, %s, to_timestamp(%s), '{}')",
                (model, event_id, ts),
            )
    assert migrate(dsn)[0] == "003_inference_logs_event_dedup.sql"  # then the later ones
    kept = query(
        dsn,
        "SELECT event_id, extract(epoch FROM event_time)::bigint FROM inference_logs ORDER BY 1, 2",
    )
    assert kept == [
        ("e", T0),
        ("retried", T0),
        ("reused-next-day", T0),
        ("reused-next-day", T0 + 86400),
    ]


def test_control_commands_respect_the_model_cap_and_idle_models_free_their_slots(
    kafka, topic_prefix, tmp_path
):
    topics = Topics(f"{topic_prefix}-")
    kafka.create_topics(topics.all(), partitions=4)
    worker = WorkerProcess(
        kafka.bootstrap,
        NO_DB,
        topic_prefix,
        tmp_path,
        sinks_enabled="false",
        max_models=2,
        model_idle_evict_seconds=8,
        idle_close_seconds=1,
    )
    worker.start()
    app_id = worker.env["DRIFT_APP_ID"]
    try:
        junk = [
            (
                f"junk-{i}",
                {
                    "action": "set_thresholds",
                    "model_id": f"junk-{i}",
                    "thresholds": {"*": {"psi": 0.5}},
                },
            )
            for i in range(3)
        ]
        produce(kafka.bootstrap, topics.control, junk)

        def slots(state: str) -> float:
            return metric(worker.metrics_url, "drift_model_slots", state=state)

        wait_for(lambda: slots("used") == 2, 60, "two model slots used", worker)
        produce(kafka.bootstrap, topics.events, [("m1", good("m1", T0, 1))])
        wait_for(
            lambda: (
                metric(worker.metrics_url, "drift_events_rejected_total", reason="too_many_models")
                == 1
            ),
            30,
            "m1 refused",
            worker,
        )
        total = slots("total")
        wait_for(lambda: slots("used") == 0, 60, "the idle junk evicted", worker)
        produce(kafka.bootstrap, topics.events, [("m1", good("m1", T0 + 1, 2))])
        wait_for_totals(kafka.bootstrap, app_id, streams_of("m1", 1), worker, 60)
        keys = {k.decode().strip('"') for k in read_changelog(kafka.bootstrap, app_id)}
    finally:
        worker.stop()
    assert total == 2
    assert not any(k.startswith("junk-") for k in keys), keys
    assert "m1|meta" in keys
