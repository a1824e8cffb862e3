"""Pinned baselines through the control topic, and the inference_logs sink."""

from __future__ import annotations

import time

import numpy as np
import orjson
import pytest

from drift.topics import Topics
from tests.integration.workers import WorkerProcess, produce, query, wait_for

pytestmark = pytest.mark.integration

T0 = 1_790_000_000 // 3600 * 3600
SETTINGS = {
    "bucket_seconds": 10,
    "recent_seconds": 60,
    "baseline_seconds": 300,
    "lateness_seconds": 0,
    "idle_close_seconds": 1,
    "min_recent": 200,
    "min_baseline": 1000,
}


def events(start: float, stop: float, shift: float, seed: int, model: str = "pin"):
    rng = np.random.default_rng(seed)
    t = np.arange(start, stop, 0.05)
    x = rng.normal(shift, 1.0, len(t))
    for i in range(0, len(t), 50):
        yield (
            model,
            [
                {
                    "model_id": model,
                    "event_id": f"{model}-{t[j]:.2f}",
                    "timestamp": float(t[j]),
                    "input_data": {"x": float(x[j])},
                }
                for j in range(i, min(i + 50, len(t)))
            ],
        )


def rows_until(dsn: str, end: float) -> bool:
    return bool(
        query(
            dsn,
            "SELECT 1 FROM drift_runs WHERE model_id = 'pin' AND window_end >= to_timestamp(%s)",
            (end,),
        )
    )


def control(bootstrap: str, topics: Topics, action: str) -> None:
    produce(
        bootstrap,
        topics.control,
        [("pin", {"action": action, "model_id": "pin", "requested_at": time.time()})],
    )


def test_pinned_baseline_holds_drift_that_a_rolling_one_absorbs(
    kafka, db_dsn, topic_prefix, tmp_path
):
    topics = Topics(f"{topic_prefix}-")
    worker = WorkerProcess(kafka.bootstrap, db_dsn, topic_prefix, tmp_path, **SETTINGS)
    worker.start()
    try:
        produce(kafka.bootstrap, topics.events, events(T0, T0 + 400, 0.0, 1))
        wait_for(lambda: rows_until(db_dsn, T0 + 390), 120, "calm windows", worker)
        control(kafka.bootstrap, topics, "pin_baseline")
        wait_for(
            lambda: query(db_dsn, "SELECT count(*) FROM baselines WHERE model_id='pin'") == [(1,)],
            60,
            "the pinned baseline in PostgreSQL",
            worker,
        )
        # 1000 s of shifted data: a rolling 300 s baseline would absorb it, a pinned one holds
        produce(kafka.bootstrap, topics.events, events(T0 + 400, T0 + 1400, 2.0, 2))
        wait_for(lambda: rows_until(db_dsn, T0 + 1390), 120, "shifted windows", worker)
        pinned = query(
            db_dsn,
            "SELECT status, baseline_mode FROM drift_runs WHERE window_end >= to_timestamp(%s)",
            (T0 + 1000,),
        )
        control(kafka.bootstrap, topics, "unpin_baseline")
        wait_for(
            lambda: query(db_dsn, "SELECT count(*) FROM baselines") == [(0,)],
            60,
            "the baseline unpinned",
            worker,
        )
        produce(kafka.bootstrap, topics.events, events(T0 + 1400, T0 + 1800, 2.0, 3))
        wait_for(lambda: rows_until(db_dsn, T0 + 1790), 120, "windows after unpinning", worker)
        rolling = query(
            db_dsn,
            "SELECT status, baseline_mode FROM drift_runs WHERE window_end >= to_timestamp(%s)",
            (T0 + 1750,),
        )
    finally:
        worker.stop()
    assert pinned and set(pinned) == {("drift", "pinned")}, pinned
    # back to rolling: the baseline is now all shifted data, so the stream is ok again
    assert rolling and set(rolling) == {("ok", "rolling")}, rolling


def test_inference_logs_store_each_event_once_even_when_replayed(
    kafka, db_dsn, topic_prefix, tmp_path
):
    topics = Topics(f"{topic_prefix}-")
    worker = WorkerProcess(kafka.bootstrap, db_dsn, topic_prefix, tmp_path, **SETTINGS)
    worker.start()
    try:
        batch = list(events(T0, T0 + 100, 0.0, 4, model="logs"))  # 2000 events with ids
        produce(kafka.bootstrap, topics.events, batch)
        produce(kafka.bootstrap, topics.events, batch[:10])  # a replay of 500 of them
        # a sentinel after the replay, same partition: once it is stored, so is the replay
        produce(kafka.bootstrap, topics.events, events(T0 + 100, T0 + 100.05, 0.0, 5, "logs"))
        wait_for(
            lambda: query(db_dsn, "SELECT count(*) FROM inference_logs") == [(2001,)],
            90,
            "2001 stored inferences",
            worker,
        )
        stored = query(
            db_dsn,
            "SELECT count(*), count(DISTINCT event_id), min(event_time), "
            "max(event_time) FROM inference_logs WHERE model_id = 'logs'",
        )
        sample = query(db_dsn, "SELECT input_data FROM inference_logs LIMIT 1")
    finally:
        worker.stop()
    assert stored[0][:2] == (2001, 2001)
    assert stored[0][2].timestamp() == T0
    assert "x" in (sample[0][0] if isinstance(sample[0][0], dict) else orjson.loads(sample[0][0]))
