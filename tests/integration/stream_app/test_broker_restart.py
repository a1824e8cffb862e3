"""Kafka stopped and started again while a worker consumes a backlog: the worker carries on,
loses and doubles nothing, and every window reaches PostgreSQL once."""

from __future__ import annotations

import time

import pytest
from stream_support import STREAMS, metric, records, wait_for_totals, window_rows

from drift.topics import Topics
from tests.integration.workers import PacedFeed, WorkerProcess, produce, wait_for

pytestmark = pytest.mark.integration

BUCKET, RECENT, BASELINE = 10, 60, 600
T0 = 1_790_000_000 // 3600 * 3600
HALF, PER_SECOND, PER_RECORD = 300, 80, 20  # two halves of event time, one before the outage
MODELS = ["m0", "m1", "m2", "m3"]
OUTAGE = 15.0  # seconds the broker is down
HEAD, PACE = 200, 600  # records produced before the worker starts; records/s fed after that


def test_a_broker_restart_under_the_worker_loses_and_doubles_nothing(
    own_broker, db_dsn, topic_prefix, tmp_path
):
    worker = WorkerProcess(
        own_broker.bootstrap,
        db_dsn,
        topic_prefix,
        tmp_path,
        bucket_seconds=BUCKET,
        recent_seconds=RECENT,
        baseline_seconds=BASELINE,
        lateness_seconds=0,
        idle_close_seconds=2,
        inference_logs_enabled="false",
        batch_size=500,
    )
    app_id = worker.env["DRIFT_APP_ID"]
    topics = Topics(f"{topic_prefix}-")
    own_broker.create_topics(topics.all(), partitions=4)
    per_half = HALF * PER_SECOND
    first = list(records(MODELS, T0, HALF, PER_SECOND, PER_RECORD, seed=1))
    produce(own_broker.bootstrap, topics.events, first[:HEAD])
    feed = PacedFeed(own_broker.bootstrap, topics.events, first[HEAD:], PACE)
    worker.start()
    try:
        # the rest of the first half is fed at a pace the worker keeps up with once it consumes,
        # so the outage lands mid-stream however fast the worker is; the feed buffers through it
        wait_for(
            lambda: metric(worker.metrics_url, "drift_events_total") > 0,
            90,
            "the worker counting",
            worker,
        )
        feed.start()
        # stop the broker mid-backlog: batches in flight, changelog writes and commits pending
        wait_for(
            lambda: (
                metric(worker.metrics_url, "drift_events_total") >= 0.25 * len(MODELS) * per_half
            ),
            90,
            "a quarter of the first half",
            worker,
        )
        own_broker.stop()
        stopped_at = metric(worker.metrics_url, "drift_events_total")
        time.sleep(OUTAGE)
        assert worker.proc is not None and worker.proc.poll() is None, worker.log_tail()
        own_broker.start()
        assert feed.finish() == len(first) - HEAD
        produce(
            own_broker.bootstrap,
            topics.events,
            records(MODELS, T0 + HALF, HALF, PER_SECOND, PER_RECORD, seed=2),
        )
        expected = {(m, s): 2 * per_half for m in MODELS for s in STREAMS}
        wait_for_totals(own_broker.bootstrap, app_id, expected, worker, timeout=180)
        ends = range(T0 + BUCKET, T0 + 2 * HALF + 1, BUCKET)
        want = {(m, s, e) for m in MODELS for s in STREAMS for e in ends}
        wait_for(lambda: set(window_rows(db_dsn)) >= want, 120, "every window's row", worker)
        rows = window_rows(db_dsn)
    finally:
        worker.stop()
    assert stopped_at < len(MODELS) * per_half, "the outage came after the backlog was consumed"
    assert len(rows) == len(set(rows)), "duplicate (model, stream, window_end) rows"
    assert set(rows) == want
