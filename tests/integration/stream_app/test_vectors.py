"""Vector streams end to end on real Kafka and PostgreSQL: an embedding's cluster-mix change
is flagged on ``embedding.<name>`` while an unchanged embedding stays ok, a correlation flip
is caught by ``multivariate`` while every input stays ok, and vector state is exact across a
kill -9 with a full replay."""

from __future__ import annotations

import numpy as np
import orjson
import psycopg
import pytest
from psycopg.rows import dict_row
from stream_support import metric, read_changelog, rewind_group, wait_for_totals

from api.queries import RUN_COLUMNS
from api.schemas.drift import DriftRun
from drift import DetectionPolicy, EventLimits, Hysteresis
from drift.topics import Topics
from stream_app.processor import HistogramSettings, Processor, RawRecord
from stream_app.state import BucketRecord
from stream_app.windows import WindowSpec
from tests.integration.workers import PacedFeed, WorkerProcess, produce, query, wait_for

pytestmark = pytest.mark.integration

BUCKET, RECENT, BASELINE = 60, 600, 3600
T0 = 1_790_000_000 // 3600 * 3600  # event time in the past: the backlog replays at full speed
SECONDS, RATE, PER_RECORD, CHANGE = 5400, 4, 20, 4800
DIM = 24


def _centres(seed: int) -> np.ndarray:
    c = np.random.default_rng(seed).normal(size=(2, DIM))
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def embedding_model(seconds: int, rng: np.random.Generator, mix_after: float = 0.85):
    """``text`` from two clusters whose mix moves from 0.5 to ``mix_after`` at CHANGE,
    ``img`` from two clusters at 0.5 throughout, input ``x`` unchanged."""
    text_c, img_c = _centres(1), _centres(2)
    times = T0 + np.repeat(np.arange(0, seconds), RATE) + 0.5
    for i in range(0, len(times), PER_RECORD):
        batch = []
        for t in times[i : i + PER_RECORD]:
            share = mix_after if t >= T0 + CHANGE else 0.5
            text = text_c[int(rng.random() >= share)] + rng.normal(0, 0.3, DIM)
            img = img_c[int(rng.random() >= 0.5)] + rng.normal(0, 0.3, DIM)
            batch.append(
                {
                    "model_id": "emb",
                    "timestamp": float(t),
                    "input_data": {"x": float(rng.normal())},
                    "embeddings": {"text": text.round(5).tolist(), "img": img.round(5).tolist()},
                }
            )
        yield "emb", batch


def tabular_model(rng: np.random.Generator):
    """Inputs a (mean 50, sd 10), b, c; the correlation of a and b flips from 0.7 to -0.7 at
    CHANGE, every marginal unchanged."""
    times = T0 + np.repeat(np.arange(0, SECONDS), RATE) + 0.5
    for i in range(0, len(times), PER_RECORD):
        batch = []
        for t in times[i : i + PER_RECORD]:
            rho = -0.7 if t >= T0 + CHANGE else 0.7
            a, b = rng.normal(size=2)
            y = rho * a + np.sqrt(1 - rho * rho) * b
            data = {"a": float(10 * a + 50), "b": float(y), "c": float(rng.normal())}
            batch.append({"model_id": "tab", "timestamp": float(t), "input_data": data})
        yield "tab", batch


def _worker(kafka, db_dsn, prefix, tmp_path, **extra) -> WorkerProcess:
    return WorkerProcess(
        kafka.bootstrap,
        db_dsn,
        prefix,
        tmp_path,
        bucket_seconds=BUCKET,
        recent_seconds=RECENT,
        baseline_seconds=BASELINE,
        lateness_seconds=0,
        idle_close_seconds=2,
        inference_logs_enabled="false",
        **extra,
    )


def _runs(dsn: str) -> dict[tuple[str, str], list[tuple[int, str, str, float | None]]]:
    out: dict[tuple[str, str], list[tuple[int, str, str, float | None]]] = {}
    sql = (
        "SELECT model_id, stream, extract(epoch FROM window_end)::bigint, status, stream_kind, "
        "sliced_wasserstein FROM drift_runs ORDER BY window_end"
    )
    for model, stream, end, status, kind, wasser in query(dsn, sql):
        out.setdefault((model, stream), []).append((int(end), status, kind, wasser))
    return out


def _wait_or_explain(dsn: str, worker: WorkerProcess, done) -> None:
    try:
        wait_for(done, 400, "the last window of both models", worker)
    except AssertionError as exc:
        held = query(
            dsn,
            "SELECT model_id, stream, count(*), max(extract(epoch FROM window_end))::bigint - %s "
            "FROM drift_runs GROUP BY 1, 2 ORDER BY 1, 2",
            (T0,),
        )
        counted = metric(worker.metrics_url, "drift_events_total")
        refused = metric(worker.metrics_url, "drift_events_rejected_total")
        raise AssertionError(f"{exc}\nruns: {held}\ncounted {counted}, refused {refused}") from None


def test_embedding_mix_and_correlation_flip_are_flagged_where_they_happen(
    kafka, db_dsn, topic_prefix, tmp_path
):
    # the default poll (2,000 records: the whole backlog, ~1 min of processing on a loaded
    # 2-core machine) commits between its chunks, far within the 60 s transaction timeout
    worker = _worker(
        kafka,
        db_dsn,
        topic_prefix,
        tmp_path,
        multivariate="true",
        multivariate_after=500,
    )
    topics = Topics(f"{topic_prefix}-")
    rng = np.random.default_rng(3)
    worker.start()
    end = T0 + SECONDS
    try:
        produce(kafka.bootstrap, topics.events, embedding_model(SECONDS, rng))
        produce(kafka.bootstrap, topics.events, tabular_model(rng))
        _wait_or_explain(
            db_dsn,
            worker,
            lambda: (
                {
                    (m, s)
                    for m, s, e in query(
                        db_dsn,
                        "SELECT model_id, stream, extract(epoch FROM window_end)::bigint "
                        "FROM drift_runs WHERE window_end = to_timestamp(%s)",
                        (end,),
                    )
                }
                >= {("emb", "embedding.text"), ("emb", "embedding.img"), ("tab", "multivariate")}
            ),
        )
        runs = _runs(db_dsn)
        gauge = metric(
            worker.metrics_url, "drift_detected", model_id="emb", stream="embedding.text"
        )
        wasser = metric(
            worker.metrics_url, "drift_sliced_wasserstein", model_id="emb", stream="embedding.text"
        )
        alerts = query(db_dsn, "SELECT model_id, stream FROM alerts WHERE status = 'open'")
        with psycopg.connect(db_dsn, row_factory=dict_row) as conn:
            api_rows = conn.execute(
                f"SELECT {RUN_COLUMNS} FROM drift_runs WHERE stream = 'embedding.text' "
                "ORDER BY window_end DESC LIMIT 1"
            ).fetchall()
    finally:
        worker.stop()
    assert not any(".p" in s for _, s in runs), "projections are never results of their own"
    text, img, mv = (
        runs["emb", "embedding.text"],
        runs["emb", "embedding.img"],
        runs["tab", "multivariate"],
    )
    assert {k for _, _, k, _ in text + img + mv} == {"vector"}
    assert text[-1][1] == "drift" and text[-1][3] is not None and text[-1][3] > 0
    assert all(s != "drift" for e, s, _, _ in text if e <= T0 + CHANGE)
    assert img[-1][1] == "ok" and all(s != "drift" for _, s, _, _ in img)
    assert mv[-1][1] == "drift" and all(s != "drift" for e, s, _, _ in mv if e <= T0 + CHANGE)
    for (model, stream), rows in runs.items():
        if stream.startswith("input."):
            assert all(s != "drift" for _, s, _, _ in rows), (model, stream)
    assert ("emb", "embedding.text") in alerts and ("tab", "multivariate") in alerts
    assert ("emb", "embedding.img") not in alerts
    assert gauge == 1 and wasser > 0
    run = DriftRun.model_validate(api_rows[0])  # the API's columns and schema read it
    assert run.stream_kind == "vector" and run.status == "drift"
    assert run.cosine_distance is not None and run.drifted_projections is not None


def _expected_state(records: list[tuple[str, list[dict]]]) -> dict[int, BucketRecord]:
    """The bucket records a processor in this process makes of the same events."""
    store: dict[str, bytes] = {}
    proc = Processor(
        WindowSpec(BUCKET, RECENT, BASELINE, 0),
        DetectionPolicy(),
        Hysteresis(3, 3),
        HistogramSettings(),
        EventLimits(),
        store,
    )
    raws = [RawRecord(0, i, b"emb", orjson.dumps(v), 0.0) for i, (_, v) in enumerate(records)]
    for i in range(0, len(raws), 50):
        out = proc.process(raws[i : i + 50], now=0.0)
        for key, (_, value) in out.writes.items():
            if value is None:
                store.pop(key, None)
            else:
                store[key] = value
    return {rec.start: rec for rec in proc.models["emb"].buckets.values()}


def test_vector_state_is_exact_across_kill_9_and_a_full_replay(
    kafka, db_dsn, topic_prefix, tmp_path
):
    seconds = 900  # < recent + baseline: no bucket expires, every one can be compared
    worker = _worker(kafka, db_dsn, topic_prefix, tmp_path, batch_size=100)
    worker.env.update(DRIFT_SESSION_TIMEOUT_SECONDS="10")
    app_id = worker.env["DRIFT_APP_ID"]
    topics = Topics(f"{topic_prefix}-")
    kafka.create_topics(topics.all(), partitions=4)
    stream = list(embedding_model(seconds, np.random.default_rng(9)))
    n = seconds * RATE
    feed = PacedFeed(kafka.bootstrap, topics.events, stream, per_second=40)
    worker.start()
    try:
        feed.start()
        wait_for(
            lambda: metric(worker.metrics_url, "drift_events_total") >= 0.3 * n,
            120,
            "a third of the events counted",
            worker,
        )
        counted_at_kill = metric(worker.metrics_url, "drift_events_total")
        worker.kill()
        rewind_group(kafka.bootstrap, app_id, topics.events, 4, timeout=30)  # replay all
        worker.start()
        assert feed.finish() == len(stream)
        expected = {("emb", "input.x"): n}
        for name in ("text", "img"):
            expected["emb", f"embedding.{name}"] = n
            expected.update({("emb", f"embedding.{name}.p{j:02d}"): n for j in range(16)})
        wait_for_totals(kafka.bootstrap, app_id, expected, worker, timeout=120)
        state = read_changelog(kafka.bootstrap, app_id)
    finally:
        worker.stop()
    assert counted_at_kill < n, "killed after every event was counted"
    held = {}
    for key, value in state.items():
        text = orjson.loads(key) if key.startswith(b'"') else key.decode()
        if text.startswith("emb|b|"):
            held[int(text.split("|")[2])] = BucketRecord.from_bytes(value).hists
    want = _expected_state(stream)
    assert held.keys() == want.keys()
    for start, rec in want.items():
        assert held[start] == rec.hists, start  # moments and projections, bit for bit
