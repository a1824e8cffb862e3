"""Replay 26 h of event time for 3 models with the default windows (5 min / 60 min / 24 h),
as fast as the worker goes: drift shows exactly for the shifted streams, and `insufficient_data`
only while the baseline is short."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from drift.topics import Topics
from tests.integration.workers import WorkerProcess, produce, query, wait_for

pytestmark = pytest.mark.integration

T0 = 1_790_000_000 // 3600 * 3600
HOURS = 26
SHIFT_AT = T0 + 25 * 3600
RATE = 2  # inferences per event-time second per model
# a and b are numeric, so with DRIFT_MULTIVARIATE on every model has the multivariate stream; a's
# mean shift moves it, the categorical c does not
SHIFTED = {"stable": set(), "sudden": {"input.a", "multivariate"}, "categorical": {"input.c"}}


def model_events(model: str, rng: np.random.Generator):
    t = T0 + np.arange(0, HOURS * 3600, 1 / RATE) + rng.random(HOURS * 3600 * RATE) / RATE
    after = t >= SHIFT_AT
    a = rng.normal(np.where(after & (model == "sudden"), 1.0, 0.0), 1.0)
    b = rng.uniform(0, 10, len(t))
    mix = np.where((after & (model == "categorical"))[:, None], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1])
    c = np.array(["x", "y", "z"])[(rng.random(len(t))[:, None] > mix.cumsum(1)).sum(1)]
    cls = np.where(rng.random(len(t)) < 0.3, "positive", "negative")
    score, conf = rng.uniform(0, 1, len(t)), rng.beta(8, 2, len(t))
    for i in range(0, len(t), 100):
        yield (
            model,
            [
                {
                    "model_id": model,
                    "timestamp": float(t[j]),
                    "input_data": {"a": float(a[j]), "b": float(b[j]), "c": str(c[j])},
                    "prediction": {"class": str(cls[j]), "score": float(score[j])},
                    "confidence": float(conf[j]),
                }
                for j in range(i, min(i + 100, len(t)))
            ],
        )


def all_events(seed: int):
    rng = np.random.default_rng(seed)
    for model in SHIFTED:
        yield from model_events(model, rng)


def test_26_hours_three_models_drift_exactly_where_shifted(kafka, db_dsn, topic_prefix, tmp_path):
    worker = WorkerProcess(
        kafka.bootstrap,
        db_dsn,
        topic_prefix,
        tmp_path,
        idle_close_seconds=3,
        inference_logs_enabled="false",
        multivariate="true",  # opt-in; exact and judged like every stream on replay
    )
    worker.start()
    end = T0 + HOURS * 3600
    try:
        produce(kafka.bootstrap, Topics(f"{topic_prefix}-").events, all_events(11))
        wait_for(
            lambda: (
                query(
                    db_dsn,
                    "SELECT count(DISTINCT model_id) FROM drift_runs "
                    "WHERE window_end = to_timestamp(%s)",
                    (end,),
                )
                == [(3,)]
            ),
            400,
            "the last window of all three models",
            worker,
        )
        rows = query(
            db_dsn,
            """SELECT model_id, stream, extract(epoch FROM window_end)::bigint,
                                       status, drifted_metrics FROM drift_runs""",
        )
    finally:
        worker.stop()
    by_stream: dict[tuple[str, str], dict[int, tuple[str, list[str]]]] = defaultdict(dict)
    for model, stream, window_end, status, metrics in rows:
        by_stream[(model, stream)][window_end] = (status, metrics)
    # a, b, c, class, score, confidence, multivariate
    assert len(by_stream) == 3 * 7, sorted(by_stream)
    every_end = {T0 + 300 * (k + 1) for k in range(HOURS * 12)}
    for (model, stream), windows in by_stream.items():
        missing = sorted(every_end - set(windows))
        assert set(windows) <= every_end, (model, stream, sorted(set(windows) - every_end)[:5])
        if stream == "multivariate":
            # counted from the batch in which every input holds 1,000 values (its scales fixed:
            # docs/architecture.md), so a first poll of fewer leaves out the window(s) that
            # batch covered whole: 1,000 events a stream end by T0 + 500 s
            assert all(e <= T0 + 600 for e in missing), (model, stream, missing[:5])
        else:
            assert not missing, (model, stream, missing[:5])  # every 5-min window
        drifted = sorted(e for e, (s, _) in windows.items() if s == "drift")
        insufficient = [e for e, (s, _) in windows.items() if s == "insufficient_data"]
        # a short baseline (< 1000 samples, 24 h span) only at the start of the replay
        assert insufficient and max(insufficient) <= T0 + 3600 + 1800, (model, stream)
        if stream in SHIFTED[model]:
            assert drifted and min(drifted) > SHIFT_AT, (model, stream, drifted[:3])
            assert windows[end][0] == "drift", (model, stream, windows[end])
            last_hour = [e for e in windows if e >= SHIFT_AT + 3600]
            assert all(windows[e][0] == "drift" for e in last_hour)
        else:
            assert not drifted, (model, stream, [(e, windows[e]) for e in drifted[:5]])
