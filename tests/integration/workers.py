"""Run `driftmon worker` as a real child process (so tests can kill -9 it) and feed it events."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
import psycopg
from confluent_kafka import Producer

from harness.process import free_port

REPO = Path(__file__).resolve().parents[2]
LOG_LEVEL = os.environ.get("DRIFT_TEST_WORKER_LOG", "WARNING")  # INFO to debug a worker test


class WorkerProcess:
    def __init__(
        self, bootstrap: str, dsn: str, prefix: str, log_dir: Path, **settings: Any
    ) -> None:
        self.web_port = free_port()
        self.sinks_web_port = free_port()  # the sinks child's /metrics
        self.log_path = log_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
        env = {
            **os.environ,
            "DRIFT_KAFKA_BOOTSTRAP": bootstrap,
            "DRIFT_DATABASE_URL": dsn,
            "DRIFT_TOPIC_PREFIX": f"{prefix}-",
            "DRIFT_APP_ID": f"{prefix}-app",
            "DRIFT_WEB_PORT": str(self.web_port),
            "DRIFT_SINKS_WEB_PORT": str(self.sinks_web_port),
            "DRIFT_PARTITIONS": "4",
            "DRIFT_DATA_DIR": str(log_dir / f"{prefix}-data"),
            # the tests replay fixed event times (2026-09): history, not live traffic, so no
            # lower bound on event time unless a test sets one
            "DRIFT_MAX_EVENT_AGE_SECONDS": "0",
            # ... and no retention job in the sinks child: that history is older than
            # DRIFT_RUNS_ROLLUP_DAYS, so its first run (at start, again after a restart) would
            # roll every drift_runs row of the test up into drift_runs_hourly and delete the
            # old inference_logs rows (tests/integration/sinks/test_retention.py tests it)
            "DRIFT_RETENTION_INTERVAL_SECONDS": "0",
        }
        env.update({f"DRIFT_{k.upper()}": str(v) for k, v in settings.items()})
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}/metrics"

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "driftmon_cli", "--log-level", LOG_LEVEL, "worker"],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


def producer(bootstrap: str) -> Producer:
    # murmur2 is the partitioner faust and the Java clients use: keys land where faust expects
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "partitioner": "murmur2_random",
        }
    )


def produce(bootstrap: str, topic: str, records: Iterable[tuple[str, Any]]) -> int:
    p, n = producer(bootstrap), 0
    for key, value in records:
        payload = value if isinstance(value, bytes) else orjson.dumps(value)
        p.produce(topic, key=key.encode() if key else None, value=payload)
        p.poll(0)
        n += 1
    assert p.flush(60) == 0, "events not acknowledged by the broker"
    return n


class PacedFeed(threading.Thread):
    """Produces records in the background at ``per_second`` records/s.

    A test that must act *mid-stream* (kill the worker, stop the broker) cannot rely on a
    backlog produced up front: a fast worker may consume all of it between two polls. Fed at a
    pace the worker keeps up with, the stream is still being produced when the test acts. The
    producer keeps buffering while the broker is down and delivers when it is back.
    """

    def __init__(
        self, bootstrap: str, topic: str, records: Iterable[tuple[str, Any]], per_second: float
    ) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.records = bootstrap, topic, records
        self.per_second = per_second
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            p = producer(self.bootstrap)
            start = time.monotonic()
            for key, value in self.records:
                ahead = start + self.sent / self.per_second - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
                payload = value if isinstance(value, bytes) else orjson.dumps(value)
                while True:
                    try:
                        p.produce(self.topic, key=key.encode() if key else None, value=payload)
                        break
                    except BufferError:  # queue full while the broker is away: wait for room
                        p.poll(0.1)
                p.poll(0)
                self.sent += 1
            if p.flush(120) != 0:
                raise AssertionError("events not acknowledged by the broker")
        except BaseException as exc:  # re-raised in the test by finish()
            self.error = exc

    def finish(self, timeout: float = 180) -> int:
        """Waits until every record is produced and acknowledged; returns how many."""
        self.join(timeout)
        if self.is_alive():
            raise AssertionError(f"feed not done after {timeout:.0f}s ({self.sent} sent)")
        if self.error is not None:
            raise AssertionError(f"feed failed after {self.sent} records") from self.error
        return self.sent


def wait_for(
    predicate: Callable[[], Any], timeout: float, what: str, worker: WorkerProcess | None = None
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker and worker.proc and worker.proc.poll() is not None:
            raise AssertionError(f"worker exited ({worker.proc.returncode}):\n{worker.log_tail()}")
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    tail = f"\nworker log:\n{worker.log_tail()}" if worker else ""
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")


def query(dsn: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()
