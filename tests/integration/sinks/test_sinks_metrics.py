"""`driftmon sinks` alone exports each sink's own lag on its /metrics."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request

import orjson
import psycopg
import pytest

from drift.topics import Topics
from harness.process import free_port
from tests.integration.workers import REPO, produce, wait_for

pytestmark = pytest.mark.integration

RESULT = {
    "model_id": "m",
    "stream": "input.x",
    "stream_kind": "numeric",
    "window_start": 1_790_000_000,
    "window_end": 1_790_003_600,
    "baseline_start": None,
    "baseline_end": None,
    "baseline_mode": "rolling",
    "status": "ok",
    "metrics": {"kl_divergence": 0.01},
    "recent_count": 500,
    "baseline_count": 5000,
    "drifted_metrics": [],
}


def _sample(url: str, name: str, sink: str) -> float | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f'{name}{{sink="{sink}"}} '):
            return float(line.split()[-1])
    return None


def test_each_sink_reports_its_lag_from_the_sinks_process(kafka, db_dsn, topic_prefix, tmp_path):
    topics = Topics(f"{topic_prefix}-")
    kafka.create_topics(topics.all(), partitions=2)
    port = free_port()
    env = {
        **os.environ,
        "DRIFT_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "DRIFT_DATABASE_URL": db_dsn,
        "DRIFT_TOPIC_PREFIX": f"{topic_prefix}-",
        "DRIFT_APP_ID": f"{topic_prefix}-app",
        "DRIFT_SINKS_WEB_PORT": str(port),
        "DRIFT_SINK_LAG_SECONDS": "0.5",
        "DRIFT_MAX_EVENT_AGE_SECONDS": "0",
        "DRIFT_RETENTION_INTERVAL_SECONDS": "0",  # RESULT is history (2026-09): keep its row
    }
    log = tmp_path / "sinks.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "driftmon_cli", "sinks"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/metrics"
    lock = psycopg.connect(db_dsn)
    try:
        # the results sink cannot store its record while the lock is held: a backlog of one
        lock.execute("LOCK TABLE models IN ACCESS EXCLUSIVE MODE")
        produce(kafka.bootstrap, topics.results, [("m", orjson.dumps(RESULT))])
        wait_for(lambda: _sample(url, "drift_sink_lag_records", "results") == 1, 60, "lag 1")
        assert _sample(url, "drift_sink_lag_records", "inference_logs") == 0
        lock.rollback()
        wait_for(lambda: _sample(url, "drift_sink_lag_records", "results") == 0, 60, "lag 0")
        stored = lock.execute("SELECT model_id, status FROM drift_runs").fetchall()
    finally:
        lock.close()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    assert stored == [("m", "ok")]
    assert proc.returncode == 0, log.read_text()
