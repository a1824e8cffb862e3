"""PostgreSQL down for 30 s mid-stream: detection goes on, every drift_runs row arrives once.

The sinks pause and retry the same batch while the database is down and commit their offsets
only after it is written, so after the restart every window's row is there exactly once.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator

import pytest
from stream_support import STREAMS, metric, records, window_rows

from drift.topics import Topics
from harness import PostgresServer
from sql.migrations import migrate
from tests.integration.workers import WorkerProcess, produce, wait_for

pytestmark = pytest.mark.integration

BUCKET, RECENT, BASELINE = 10, 60, 600
T0 = 1_790_000_000 // 3600 * 3600
PHASE, PER_SECOND, PER_RECORD = 200, 50, 25  # seconds of event time before / during the outage
MODELS = ["a", "b"]
OUTAGE = 30.0


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.close()


def test_postgres_down_30s_keeps_detection_and_loses_no_row(
    kafka, own_postgres, topic_prefix, tmp_path
):
    dsn = own_postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")
    migrate(dsn)
    worker = WorkerProcess(
        kafka.bootstrap,
        dsn,
        topic_prefix,
        tmp_path,
        bucket_seconds=BUCKET,
        recent_seconds=RECENT,
        baseline_seconds=BASELINE,
        lateness_seconds=0,
        idle_close_seconds=2,
        inference_logs_enabled="false",
        sink_lag_seconds=1,
    )
    topics = Topics(f"{topic_prefix}-")
    per_phase = PHASE * PER_SECOND
    ends = range(T0 + BUCKET, T0 + 2 * PHASE + 1, BUCKET)
    want = {(m, s, e) for m in MODELS for s in STREAMS for e in ends}
    worker.start()
    try:
        produce(kafka.bootstrap, topics.events, records(MODELS, T0, PHASE, PER_SECOND, PER_RECORD))
        first = {(m, s, e) for (m, s, e) in want if e <= T0 + PHASE}
        wait_for(lambda: set(window_rows(dsn)) == first, 60, "the first phase's rows", worker)

        # fast shutdown (SIGINT) drops the sinks' connections, as a database restart does
        own_postgres.process.stop(timeout=30, sig=signal.SIGINT)
        down_at = time.time()
        produce(
            kafka.bootstrap,
            topics.events,
            records(MODELS, T0 + PHASE, PHASE, PER_SECOND, PER_RECORD, seed=2),
        )
        wait_for(
            lambda: metric(worker.metrics_url, "drift_events_total") == 2 * len(MODELS) * per_phase,
            OUTAGE - 5,
            "every event counted while PostgreSQL is down",
            worker,
        )
        for model in MODELS:
            evaluated_at = metric(
                worker.metrics_url, "drift_last_evaluation_timestamp_seconds", model_id=model
            )
            assert evaluated_at > down_at, f"{model}: no window evaluated during the outage"
        assert not own_postgres.process.running
        backlog = wait_for(
            lambda: metric(worker.metrics_url, "drift_sink_lag_records", sink="results"),
            max(1.0, down_at + OUTAGE - time.time()),
            "the results sink's backlog on /metrics",
            worker,
        )
        time.sleep(max(0.0, down_at + OUTAGE - time.time()))  # the outage lasts 30 s
        own_postgres.start()

        wait_for(lambda: set(window_rows(dsn)) >= want, 90, "every window's row", worker)
        wait_for(
            lambda: (
                metric(worker.metrics_url, "drift_sink_lag_records", sink="results") == 0
                and metric(worker.metrics_url, "drift_sink_lag_records") == 0
            ),
            30,
            "the backlog drained",
            worker,
        )
        rows = window_rows(dsn)
        log = worker.log_path.read_text(errors="replace")
    finally:
        worker.stop()
    assert "PostgreSQL unavailable" in log, "the sink never saw the outage"
    assert backlog > 0
    assert len(rows) == len(set(rows)), "duplicate (model, stream, window_end) rows"
    assert set(rows) == want
