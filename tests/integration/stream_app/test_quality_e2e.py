"""Data quality end to end: the generator's `quality` scenario (feature1 missing in 20% of
events, a country never seen before in 10%) through real Kafka, the worker and the results sink
into PostgreSQL: the issues land on exactly those streams, none before the change."""

from __future__ import annotations

import numpy as np
import pytest

from drift.topics import Topics
from producers.generate import build_events
from producers.records import encode_columnar
from producers.scenarios import SCENARIOS, DriftSchedule, default_model, sample
from tests.integration.workers import WorkerProcess, produce, query, wait_for

pytestmark = pytest.mark.integration

BUCKET, RECENT, BASELINE = 10, 60, 300
T0 = 1_790_000_000 // 3600 * 3600
SHIFT_AT = T0 + 420
END = SHIFT_AT + 120
SPEC = default_model("shop")


def records():
    """20 events/s of event time in columnar records of 50 events (the SDK's default)."""
    t = np.arange(T0, END, 0.05)
    rng = np.random.default_rng(9)
    s = sample(SPEC, SCENARIOS["quality"], t - T0, DriftSchedule(drift_at=SHIFT_AT - T0), rng)
    events = build_events(SPEC, s, t.tolist(), [f"e{i}" for i in range(len(t))])
    for i in range(0, len(events), 50):
        yield "shop", encode_columnar("shop", events[i : i + 50])


def test_missing_values_and_a_new_category_are_flagged_on_exactly_those_streams(
    kafka, db_dsn, topic_prefix, tmp_path
):
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
        min_recent=200,
        min_baseline=1000,
        inference_logs_enabled="false",
    )
    worker.start()
    try:
        produce(kafka.bootstrap, Topics(f"{topic_prefix}-").events, records())
        wait_for(
            lambda: query(
                db_dsn,
                "SELECT 1 FROM drift_runs WHERE stream = 'input.feature1' AND "
                "window_end >= to_timestamp(%s)",
                (END,),
            ),
            120,
            "the last window's drift_runs row",
            worker,
        )
        rows = query(
            db_dsn,
            "SELECT extract(epoch FROM window_end)::bigint, stream, quality_issues, "
            "quality->>'missing_share' FROM drift_runs WHERE model_id = 'shop' "
            "ORDER BY window_end, stream",
        )
    finally:
        worker.stop()
    judged = [r for r in rows if r[2] is not None]
    before = {(r[1], i) for r in judged if r[0] <= SHIFT_AT for i in r[2]}
    assert before == set(), before
    # the first window wholly after the change, its baseline still clean
    first = {r[1]: r for r in judged if r[0] == SHIFT_AT + RECENT}
    flagged = {stream: tuple(r[2]) for stream, r in first.items() if r[2]}
    assert flagged == {"input.feature1": ("missing",), "input.country": ("new_category",)}
    assert float(first["input.feature1"][3]) == pytest.approx(0.2, abs=0.05)
    assert len(first) >= 9  # every stream was judged: 6 inputs, prediction, confidence
