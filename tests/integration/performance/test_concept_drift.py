"""Issue 15 end to end on real Kafka and PostgreSQL: the generator's concept-drift scenario with
labels a simulated day late, through `driftmon worker` and its sinks process.

- the realised accuracy of every window equals a direct computation on the same events;
- the performance verdict turns degraded while no input (or prediction) stream drifts;
- replaying the label topic changes no figure.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime

import httpx
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from drift.topics import Topics
from producers.client import DriftClient
from producers.generate import KafkaSink, Plan, items, run
from producers.scenarios import SCENARIOS, DriftSchedule, default_model
from tests.integration.live_parts import http_text
from tests.integration.workers import WorkerProcess, query, wait_for

pytestmark = pytest.mark.integration
HOUR, DAY = 3600, 86_400
HOURS = 26
FIGURES = (
    "model_id, window_start, inferences, labelled, too_late, labelled_share, accuracy, "
    "log_loss, ece, per_class, confusion, estimated_accuracy, estimated_confusion"
)


def concept_plan() -> Plan:
    start = (int(time.time()) // HOUR - HOURS) * HOUR  # whole hours, all in the past
    return Plan(
        models=(default_model("m", 0),),
        scenario=SCENARIOS["concept"],
        schedule=DriftSchedule(drift_at=(HOURS - 1) * HOUR),  # the last hour drifts
        start=float(start),
        duration=HOURS * HOUR,
        rate=0.25,  # 900 inferences an hour
        seed=3,
        label_delay=float(DAY),
        label_share=0.8,
    )


def direct_windows(plan: Plan) -> dict[float, tuple[int, int, int]]:
    """Per window start: (inferences, labelled, right) from the generator's own events."""
    events, labels = {}, {}
    for _, batch, is_label in items(plan):
        for item in batch:
            (labels if is_label else events)[item["event_id"]] = item
    out: dict[float, list[int]] = defaultdict(lambda: [0, 0, 0])
    for eid, e in events.items():
        w = out[float(int(e["timestamp"]) // HOUR * HOUR)]
        w[0] += 1
        if eid in labels:
            w[1] += 1
            w[2] += labels[eid]["label"] == e["prediction"]["class"]
    return {k: (n, lab, right) for k, (n, lab, right) in out.items()}


def stored_windows(dsn: str) -> dict[float, tuple]:
    rows = query(dsn, f"SELECT {FIGURES}, computed_at FROM performance_windows ORDER BY 2")
    return {r[1].timestamp(): r for r in rows}


def stale_windows(dsn: str, since: datetime) -> list[tuple[str, str]]:
    """(window start, computed_at) of the stored windows not computed after ``since``."""
    return [
        (r[1].isoformat(), r[-1].isoformat())
        for r in stored_windows(dsn).values()
        if r[-1] <= since
    ]


def sinks_metrics(worker: WorkerProcess) -> str | None:
    try:
        return httpx.get(f"http://127.0.0.1:{worker.sinks_web_port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return None


def sinks_gauge(worker: WorkerProcess, name: str) -> float | None:
    text = sinks_metrics(worker)
    if text is None:
        return None
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels.get("model_id") == "m":
                return s.value
    return None


def replay(bootstrap: str, topic: str) -> int:
    """Every record of ``topic`` produced to it once more (keys and values unchanged)."""
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": f"replay-{time.time_ns()}"})
    meta = reader.list_topics(topic, timeout=10).topics[topic]
    parts = [TopicPartition(topic, p, 0) for p in meta.partitions]
    ends = {p.partition: reader.get_watermark_offsets(p, timeout=10)[1] for p in parts}
    reader.assign(parts)
    records = []
    while len(records) < sum(ends.values()):
        msg = reader.poll(1.0)
        if msg is not None and not msg.error() and msg.offset() < ends[msg.partition()]:
            records.append((msg.key(), msg.value()))
    reader.close()
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for key, value in records:
        producer.produce(topic, value, key)
    assert producer.flush(30) == 0
    return len(records)


def replay_state(worker: WorkerProcess, dsn: str, replayed_at: datetime) -> str:
    """What a stalled replay left: the windows not recomputed, the dirty marks, the labels'
    receive times and the sinks' counters (labels stored, lag)."""
    dirty = query(dsn, "SELECT count(*) FROM performance_dirty")[0][0]
    received = query(
        dsn,
        "SELECT count(*) FILTER (WHERE received_at > %s), count(*), "
        "count(*) FILTER (WHERE NOT matched) FROM labels",
        (replayed_at,),
    )[0]
    text = sinks_metrics(worker) or "(no /metrics)"
    counters = [
        line for line in text.splitlines() if line.startswith(("drift_labels", "drift_sink_lag"))
    ]
    return (
        f"replayed at {replayed_at.isoformat()}; windows not recomputed (start, computed_at): "
        f"{stale_windows(dsn, replayed_at)}\nperformance_dirty rows: {dirty}; labels received "
        f"since the replay / all / unmatched: {received}\nsinks metrics:\n" + "\n".join(counters)
    )


def test_concept_drift_degrades_performance_and_labels_replay_changes_nothing(
    kafka, db_dsn, topic_prefix, tmp_path
):
    plan = concept_plan()
    expected = direct_windows(plan)
    assert len(expected) == HOURS
    worker = WorkerProcess(
        kafka.bootstrap, db_dsn, topic_prefix, tmp_path, performance_interval_seconds=1
    )
    topics = Topics(f"{topic_prefix}-")
    worker.start()
    try:
        wait_for(lambda: http_text(worker.metrics_url), 90, "the worker's /metrics", worker)
        client = DriftClient(
            kafka.bootstrap, topic=topics.events, labels_topic=topics.labels, batch_size=100
        )
        with client:
            run(plan, KafkaSink(client))
        assert client.label_ledger.delivered == sum(n for _, n, _ in expected.values())

        def figures_match() -> bool:
            got = stored_windows(db_dsn)
            return len(got) == HOURS and all(
                (got[w][2], got[w][3]) == (n, lab) and got[w][6] == right / lab
                for w, (n, lab, right) in expected.items()
            )

        wait_for(figures_match, 300, "every window's figures equal to the direct ones", worker)
        for w, (n, lab, _) in expected.items():  # exactly, and complete as far as labelled
            row = stored_windows(db_dsn)[w]
            assert row[4] == 0 and row[5] == lab / n
        degraded = wait_for(
            lambda: sinks_gauge(worker, "drift_performance_degraded") == 1, 60, "degraded", worker
        )
        assert degraded
        last = plan.start + (HOURS - 1) * HOUR
        assert sinks_gauge(worker, "drift_performance_window_start_timestamp_seconds") == last
        n, lab, right = expected[last]
        assert sinks_gauge(worker, "drift_performance_accuracy") == right / lab
        base = sinks_gauge(worker, "drift_performance_baseline_accuracy")
        assert base is not None and base - right / lab > 0.05
        # ... while no monitored stream drifted: the inputs and predictions stayed put (the
        # results sink may lag the performance job: wait for the runs of the drifted hour)
        end = datetime.fromtimestamp(plan.start + HOURS * HOUR - 600, UTC)
        wait_for(
            lambda: query(db_dsn, "SELECT max(window_end) >= %s FROM drift_runs", (end,))[0][0],
            180,
            "the drift runs of the last hour",
            worker,
        )
        runs = query(
            db_dsn, "SELECT count(*), count(*) FILTER (WHERE status = 'drift') FROM drift_runs"
        )[0]
        assert runs[0] > 0 and runs[1] == 0, runs
        assert query(db_dsn, "SELECT count(*) FROM alerts") == [(0,)]

        before = stored_windows(db_dsn)
        replayed_at = datetime.now(UTC)
        assert replay(kafka.bootstrap, topics.labels) > 0
        try:
            wait_for(
                lambda: not stale_windows(db_dsn, replayed_at),
                300,
                "every window recomputed after the replay",
                worker,
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{replay_state(worker, db_dsn, replayed_at)}") from None
        after = stored_windows(db_dsn)
        assert {w: r[:-1] for w, r in after.items()} == {w: r[:-1] for w, r in before.items()}
        assert query(db_dsn, "SELECT count(*) FROM labels") == [
            (sum(lab for _, lab, _ in expected.values()),)
        ]
        assert sinks_gauge(worker, "drift_performance_degraded") == 1
    finally:
        worker.stop()
