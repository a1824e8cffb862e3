"""One test per service: the fixture really talks to a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid

import psycopg
import pytest
from confluent_kafka import Consumer, Producer

pytestmark = pytest.mark.integration


def _get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def test_kafka_topic_round_trip(kafka, topic_prefix):
    topic = f"{topic_prefix}-roundtrip"
    kafka.create_topics([topic], partitions=1)
    producer = Producer({"bootstrap.servers": kafka.bootstrap, "enable.idempotence": True})
    payload = uuid.uuid4().hex.encode()
    producer.produce(topic, key=b"k", value=payload)
    assert producer.flush(30) == 0
    consumer = Consumer(
        {"bootstrap.servers": kafka.bootstrap, "group.id": topic, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    try:
        got = None
        for _ in range(60):
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                got = msg
                break
        assert got is not None, "no message came back from the broker"
        assert got.value() == payload
        assert got.key() == b"k"
    finally:
        consumer.close()


def test_postgres_sql_and_migrations(db_dsn):
    with psycopg.connect(db_dsn) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema='public'"
            )
        }
        assert {"models", "inference_logs", "drift_runs", "alerts", "baselines"} <= tables
        version = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        assert version is not None and version[0] >= 1


def test_migrations_are_idempotent(db_dsn):
    from sql.migrations import migrate

    assert migrate(db_dsn) == []


def test_prometheus_answers_queries(prometheus):
    body = _get_json(f"{prometheus.url}/api/v1/query?query=vector(42)")
    assert isinstance(body, dict) and body["status"] == "success"
    assert body["data"]["result"][0]["value"][1] == "42"


def test_alertmanager_api_accepts_and_lists_alerts(alertmanager):
    name = f"HarnessProbe{uuid.uuid4().hex[:6]}"
    alerts = json.dumps([{"labels": {"alertname": name, "severity": "info"}}]).encode()
    req = urllib.request.Request(
        f"{alertmanager.url}/api/v2/alerts",
        data=alerts,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(req, timeout=10).close()
    listed = _get_json(f"{alertmanager.url}/api/v2/alerts")
    assert isinstance(listed, list)
    assert name in {a["labels"]["alertname"] for a in listed}


def test_concurrent_setups_share_one_complete_kafka_download(tmp_path):
    """Several `make setup` at once (worktrees, parallel jobs) used to interleave their copies
    into one folder and fail; now one downloads under a lock, the others wait and reuse it."""
    env = {**os.environ, "DRIFT_CACHE_DIR": str(tmp_path)}
    code = "from harness.kafka import ensure_kafka_libs; print(ensure_kafka_libs())"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    libs = tmp_path / "kafka-4.1.1" / "libs"
    assert outputs == [str(libs)] * 3
    assert (libs / ".complete").exists() and any(libs.glob("kafka_2.13-*.jar"))
    leftovers = [p.name for p in libs.parent.iterdir() if p.name.startswith("libs-")]
    assert leftovers == []  # no staging folder left behind
