"""A zombie worker: stalled (SIGSTOP) past its session timeout while another takes its
partitions over, then resumed (SIGCONT) with a transaction of work it did before the stall.
Its writes are fenced: nothing of that transaction reaches the changelog or drift-results
(read with read_committed), counts stay exact and every window has one result.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter

import httpx
import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from stream_support import STREAMS, metric, records, wait_for_totals, window_rows

from drift.topics import Topics
from tests.integration.workers import PacedFeed, WorkerProcess, produce, wait_for

pytestmark = pytest.mark.integration

BUCKET, RECENT, BASELINE = 10, 60, 600
T0 = 1_790_000_000 // 3600 * 3600
SECONDS, PER_SECOND, PER_RECORD = 600, 40, 20
MODELS = [f"m{i}" for i in range(8)]
PARTITIONS = 4
HEAD, PACE = 200, 150  # records before the first worker starts; records/s after that
SESSION = 10  # seconds
SETTINGS = {
    "bucket_seconds": BUCKET,
    "recent_seconds": RECENT,
    "baseline_seconds": BASELINE,
    "lateness_seconds": 0,
    "idle_close_seconds": 2,
    "inference_logs_enabled": "false",
    "batch_size": 200,
    "session_timeout_seconds": SESSION,
    "transaction_timeout_seconds": 30,
    # long transactions and short consume() waits: the stall lands inside a transaction
    # holding work (between two, after a commit, only for one short consume() call)
    "commit_interval_seconds": 6,
    "batch_within": 0.05,
}


def owned_partitions(worker: WorkerProcess, topic: str) -> set[str]:
    """Partitions of ``topic`` the worker reports a consumer lag for (those it owns)."""
    try:
        text = httpx.get(worker.metrics_url, timeout=5).text
    except httpx.HTTPError:
        return set()
    return {
        s.labels["partition"]
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "drift_consumer_lag_records" and s.labels.get("topic") == topic
    }


def committed_results(bootstrap: str, topic: str) -> Counter[tuple[str, str, float]]:
    """(model, stream, window end) of every drift-results record a read_committed reader sees."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"results-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    seen: Counter[tuple[str, str, float]] = Counter()
    try:
        ends = {}
        for p in range(PARTITIONS):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        deadline = time.monotonic() + 60
        while ends and time.monotonic() < deadline:
            for msg in consumer.consume(5000, timeout=1.0):
                if not msg.error():
                    r = orjson.loads(msg.value())
                    seen[r["model_id"], r["stream"], r["window_end"]] += 1
            for tp in consumer.position([TopicPartition(topic, p) for p in list(ends)]):
                if tp.offset >= ends[tp.partition]:
                    del ends[tp.partition]
        assert not ends, f"{topic} not read to its end: {ends}"
    finally:
        consumer.close()
    return seen


def test_a_zombie_worker_is_fenced_and_counts_stay_exact(kafka, db_dsn, topic_prefix, tmp_path):
    workers = []
    for name in ("zombie", "heir"):
        (tmp_path / name).mkdir()
        workers.append(
            WorkerProcess(kafka.bootstrap, db_dsn, topic_prefix, tmp_path / name, **SETTINGS)
        )
    zombie, heir = workers
    app_id = zombie.env["DRIFT_APP_ID"]
    topics = Topics(f"{topic_prefix}-")
    kafka.create_topics(topics.all(), partitions=PARTITIONS)
    total = SECONDS * PER_SECOND
    stream = list(records(MODELS, T0, SECONDS, PER_SECOND, PER_RECORD))
    produce(kafka.bootstrap, topics.events, stream[:HEAD])
    feed = PacedFeed(kafka.bootstrap, topics.events, stream[HEAD:], PACE)

    def counted(worker: WorkerProcess) -> float:
        return metric(worker.metrics_url, "drift_events_total")

    zombie.start()
    try:
        wait_for(lambda: counted(zombie) > 0, 90, "the first worker counting", zombie)
        feed.start()
        wait_for(lambda: counted(zombie) >= 0.15 * len(MODELS) * total, 90, "a share", zombie)
        heir.start()
        wait_for(lambda: owned_partitions(heir, topics.events), 90, "the heir owning", heir)
        # after the rebalance, not on the way through it (restoring, no transaction open): the
        # zombie owns its share again and counts more (drift_events_total is cumulative)
        wait_for(lambda: owned_partitions(zombie, topics.events), 90, "the zombie's share", zombie)
        again = counted(zombie)
        wait_for(lambda: counted(zombie) > again, 30, "the zombie counting again", zombie)
        time.sleep(2.0)  # into a transaction of the zombie's (6 s each)
        assert zombie.proc is not None
        os.kill(zombie.proc.pid, signal.SIGSTOP)
        stopped_at = feed.sent
        # past the session timeout the heir takes every partition (after the broker aborted
        # or timed out the zombie's open transaction, which held its restore back)
        wait_for(
            lambda: len(owned_partitions(heir, topics.events)) == PARTITIONS,
            SESSION + 90,
            "the heir owning every partition",
            heir,
        )
        wait_for(
            lambda: feed.sent > stopped_at + 2 * PACE, 30, "the heir counting on its own", heir
        )
        os.kill(zombie.proc.pid, signal.SIGCONT)
        assert feed.finish() == len(stream) - HEAD
        expected = {(m, s): total for m in MODELS for s in STREAMS}
        wait_for_totals(kafka.bootstrap, app_id, expected, heir, timeout=180)
        ends = range(T0 + BUCKET, T0 + SECONDS + 1, BUCKET)
        want = {(m, s, e) for m in MODELS for s in STREAMS for e in ends}
        wait_for(lambda: set(window_rows(db_dsn)) >= want, 90, "every window's row", heir)
        rows = window_rows(db_dsn)
        results = committed_results(kafka.bootstrap, topics.results)
        zombie_log = zombie.log_path.read_text(errors="replace")
    finally:
        if zombie.proc is not None and zombie.proc.poll() is None:
            os.kill(zombie.proc.pid, signal.SIGCONT)
        for worker in workers:
            worker.stop()
    assert stopped_at < len(stream) - HEAD, "the stall came after the stream ended"
    fenced = ("no longer a member of the group", "transaction lost", "the assignment was lost")
    assert any(f in zombie_log for f in fenced), "the zombie's transaction was not fenced"
    assert len(rows) == len(set(rows)), "duplicate (model, stream, window_end) rows"
    assert set(rows) == want
    doubled = {k: n for k, n in results.items() if n > 1}
    assert not doubled, f"results published twice (a zombie's write got through): {doubled}"
    assert {(m, s, int(e)) for m, s, e in results} == want
