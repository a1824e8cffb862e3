"""Rebalances mid-stream: a second worker joins and takes partitions (with their state) over,
then leaves and hands them back. Counts stay exact and every window's row arrives once.

Both workers share the app id (the consumer group and the changelog): the one that receives a
partition restores its state from the changelog. A worker must not process, after giving a
partition up, events it had fetched before: their bucket writes would land in the changelog
after the new owner restored it, and the compacted changelog (what the next restore sees)
would hold the stale value. The test reads that compacted changelog.
"""

from __future__ import annotations

import pytest
from stream_support import STREAMS, metric, records, wait_for_totals, window_rows

from drift.topics import Topics
from tests.integration.workers import PacedFeed, WorkerProcess, produce, wait_for

# in `make test`; `make test-soak` runs it 20 times in a row
pytestmark = pytest.mark.integration

BUCKET, RECENT, BASELINE = 10, 60, 600
T0 = 1_790_000_000 // 3600 * 3600
SECONDS, PER_SECOND, PER_RECORD = 600, 40, 20
MODELS = [f"m{i}" for i in range(8)]  # spread over the 4 partitions
PARTITIONS = 4
HEAD, PACE = 200, 150  # records produced before the first worker starts; records/s after that
# (150/s: the stream lasts about a minute, so the second worker — whose start-up takes 20 s
# on a loaded 2-core machine — joins and leaves while it is still being fed)
SETTINGS = {
    "bucket_seconds": BUCKET,
    "recent_seconds": RECENT,
    "baseline_seconds": BASELINE,
    "lateness_seconds": 0,
    "idle_close_seconds": 2,
    "inference_logs_enabled": "false",
    "batch_size": 200,
}


def test_workers_joining_and_leaving_mid_stream_lose_and_double_nothing(
    kafka, db_dsn, topic_prefix, tmp_path
):
    workers = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        worker = WorkerProcess(kafka.bootstrap, db_dsn, topic_prefix, tmp_path / name, **SETTINGS)
        # the group rebalances in seconds, not a minute
        worker.env.update(DRIFT_SESSION_TIMEOUT_SECONDS="10")
        workers.append(worker)
    first, second = workers
    app_id = first.env["DRIFT_APP_ID"]
    assert second.env["DRIFT_APP_ID"] == app_id
    topics = Topics(f"{topic_prefix}-")
    kafka.create_topics(topics.all(), partitions=PARTITIONS)
    total = SECONDS * PER_SECOND
    stream = list(records(MODELS, T0, SECONDS, PER_SECOND, PER_RECORD))
    produce(kafka.bootstrap, topics.events, stream[:HEAD])
    feed = PacedFeed(kafka.bootstrap, topics.events, stream[HEAD:], PACE)

    def counted(worker: WorkerProcess) -> float:
        return metric(worker.metrics_url, "drift_events_total")

    first.start()
    try:
        wait_for(lambda: counted(first) > 0, 90, "the first worker counting", first)
        feed.start()
        wait_for(lambda: counted(first) >= 0.2 * len(MODELS) * total, 90, "a fifth counted", first)
        second.start()
        # the second worker joins: it gets partitions and counts events of its own
        wait_for(
            lambda: counted(second) >= 0.1 * len(MODELS) * total,
            90,
            "the second worker counting a tenth",
            second,
        )
        sent_at_leave = feed.sent
        second.stop()  # leaves the group: the first worker takes its partitions back
        assert second.proc is not None and second.proc.returncode == 0, second.log_tail()
        assert feed.finish() == len(stream) - HEAD
        expected = {(m, s): total for m in MODELS for s in STREAMS}
        wait_for_totals(kafka.bootstrap, app_id, expected, first, timeout=180)
        ends = range(T0 + BUCKET, T0 + SECONDS + 1, BUCKET)
        want = {(m, s, e) for m in MODELS for s in STREAMS for e in ends}
        wait_for(lambda: set(window_rows(db_dsn)) >= want, 90, "every window's row", first)
        rows = window_rows(db_dsn)
    finally:
        for worker in workers:
            worker.stop()
    assert sent_at_leave < len(stream) - HEAD, "the second worker left after the stream ended"
    assert len(rows) == len(set(rows)), "duplicate (model, stream, window_end) rows"
    assert set(rows) == want
