"""kill -9 of the worker while it consumes a backlog, then a restart: counts stay exact.

The restarted worker recovers its table from the changelog and replays the batches whose
offsets were not committed; bucket records skip the offsets they already hold, so the final
histograms hold every produced event exactly once, and drift_runs has one row per window.
"""

from __future__ import annotations

import pytest
from stream_support import STREAMS, metric, records, rewind_group, wait_for_totals, window_rows

from drift.topics import Topics
from tests.integration.workers import PacedFeed, WorkerProcess, produce, wait_for

pytestmark = pytest.mark.integration

BUCKET, RECENT, BASELINE = 10, 60, 600
T0 = 1_790_000_000 // 3600 * 3600  # event time in the past: the backlog replays at full speed
SECONDS, PER_SECOND, PER_RECORD = 600, 80, 20  # span < recent + baseline: no bucket expires
MODELS = ["m0", "m1", "m2", "m3"]
PARTITIONS = 4  # WorkerProcess sets DRIFT_PARTITIONS=4
HEAD, PACE = 200, 600  # records produced before the worker starts; records/s fed after that


def test_kill_9_mid_stream_loses_and_doubles_nothing(kafka, db_dsn, topic_prefix, tmp_path):
    worker = WorkerProcess(
        kafka.bootstrap,
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
    # a killed member leaves the group after 10 s, not 60 s
    worker.env.update(DRIFT_SESSION_TIMEOUT_SECONDS="10")
    app_id = worker.env["DRIFT_APP_ID"]
    total = SECONDS * PER_SECOND
    topics = Topics(f"{topic_prefix}-")
    kafka.create_topics(topics.all(), partitions=PARTITIONS)
    stream = list(records(MODELS, T0, SECONDS, PER_SECOND, PER_RECORD))
    assert len(stream) == len(MODELS) * total // PER_RECORD
    produce(kafka.bootstrap, topics.events, stream[:HEAD])
    feed = PacedFeed(kafka.bootstrap, topics.events, stream[HEAD:], PACE)

    worker.start()
    try:
        # feed the rest once the worker consumes, at a pace it keeps up with: the kill below
        # then lands mid-stream however fast the worker is
        wait_for(
            lambda: metric(worker.metrics_url, "drift_events_total") > 0,
            90,
            "the worker counting",
            worker,
        )
        feed.start()
        # kill once part of the backlog is counted and some windows reached PostgreSQL
        wait_for(
            lambda: (
                metric(worker.metrics_url, "drift_events_total") >= 0.25 * len(MODELS) * total
                and window_rows(db_dsn)
            ),
            90,
            "a quarter of the backlog counted and a first drift_runs row",
            worker,
        )
        counted_at_kill = metric(worker.metrics_url, "drift_events_total")
        worker.kill()
        before = set(window_rows(db_dsn))
        # a kill lands in the short gap between writing state and committing offsets only by
        # luck: rewinding the committed offsets makes the replay of counted events certain
        rewind_group(kafka.bootstrap, app_id, topics.events, PARTITIONS, timeout=30)
        worker.start()
        assert feed.finish() == len(stream) - HEAD
        expected = {(m, s): total for m in MODELS for s in STREAMS}
        wait_for_totals(kafka.bootstrap, app_id, expected, worker, timeout=90)
        ends = range(T0 + BUCKET, T0 + SECONDS + 1, BUCKET)
        want = {(m, s, e) for m in MODELS for s in STREAMS for e in ends}
        wait_for(lambda: set(window_rows(db_dsn)) >= want, 90, "every window's row", worker)
        after = window_rows(db_dsn)
        every = window_rows(db_dsn, vectors=True)  # multivariate's too (on by default)
    finally:
        worker.stop()
    assert counted_at_kill < len(MODELS) * total, "killed after the backlog was consumed"
    assert len(after) == len(set(after)), "duplicate (model, stream, window_end) rows"
    assert len(every) == len(set(every)), "duplicate rows of a vector stream"
    assert set(after) == want
    assert before and before < want, "the kill came after every window was stored"
