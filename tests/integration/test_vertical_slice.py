"""Foundation slice: events through real Kafka → faust worker → PostgreSQL → GET /drift/latest."""

from __future__ import annotations

import numpy as np
import pytest

from drift.topics import Topics
from tests.integration.workers import WorkerProcess, produce, query, wait_for

pytestmark = pytest.mark.integration

BUCKET, RECENT, BASELINE = 10, 60, 300
T0 = 1_790_000_000 // 3600 * 3600  # an aligned hour in event time
SHIFT_AT = T0 + 420


def events(rng: np.random.Generator):
    """20 events/s of event time: calm until SHIFT_AT, then a 2σ shift in x and new classes."""
    t = np.arange(T0, SHIFT_AT + 180, 0.05)
    drifted = t >= SHIFT_AT
    x = rng.normal(np.where(drifted, 2.0, 0.0), 1.0)
    cls = np.where(rng.random(len(t)) < np.where(drifted, 0.8, 0.3), "positive", "negative")
    batch = []
    for ts, xi, ci in zip(t, x, cls, strict=True):
        batch.append(
            {
                "model_id": "fraud",
                "timestamp": float(ts),
                "input_data": {"x": float(xi)},
                "prediction": {"class": str(ci), "score": 0.5},
                "confidence": 0.9,
            }
        )
        if len(batch) == 50:
            yield "fraud", batch
            batch = []


def test_no_drift_then_drift_lands_in_drift_runs_and_api(kafka, db_dsn, topic_prefix, tmp_path):
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
        produce(
            kafka.bootstrap, Topics(f"{topic_prefix}-").events, events(np.random.default_rng(7))
        )
        last_end = SHIFT_AT + 180
        wait_for(
            lambda: query(
                db_dsn,
                "SELECT 1 FROM drift_runs WHERE stream='input.x' AND "
                "window_end >= to_timestamp(%s)",
                (last_end,),
            ),
            120,
            "the last window's drift_runs row",
            worker,
        )
        rows = query(
            db_dsn,
            """SELECT extract(epoch FROM window_end)::bigint, status,
                                       kl_divergence, cosine_similarity
                                FROM drift_runs WHERE stream = 'input.x' ORDER BY window_end""",
        )
    finally:
        worker.stop()
    calm = [r for r in rows if r[0] <= SHIFT_AT and r[1] != "insufficient_data"]
    assert len(calm) >= 10, rows
    assert all(r[1] == "ok" and r[2] <= 0.1 and r[3] >= 0.9 for r in calm), calm
    shifted = [r for r in rows if SHIFT_AT + RECENT <= r[0] <= SHIFT_AT + 180]
    assert shifted, rows
    assert all(r[1] == "drift" and r[2] > 0.1 and r[3] < 0.9 for r in shifted), shifted
    # one row per (model, stream, window end)
    dupes = query(
        db_dsn,
        "SELECT count(*) FROM (SELECT 1 FROM drift_runs GROUP BY model_id, "
        "stream, window_end HAVING count(*) > 1) d",
    )
    assert dupes == [(0,)]
    _check_api_latest(db_dsn, kafka.bootstrap, topic_prefix)


def _check_api_latest(dsn: str, bootstrap: str, prefix: str) -> None:
    from fastapi.testclient import TestClient

    from api.core.config import Settings
    from api.main import create_app

    settings = Settings(database_url=dsn, kafka_bootstrap=bootstrap, topic_prefix=f"{prefix}-")
    # TestClient's default Host (testserver) is not an allowed host
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        resp = client.get("/drift/latest", params={"model_id": "fraud"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    items = body["items"] if isinstance(body, dict) else body
    by_stream = {item["stream"]: item for item in items}
    assert by_stream["input.x"]["status"] == "drift"
    assert by_stream["input.x"]["kl_divergence"] > 0.1
    assert by_stream["input.x"]["cosine_similarity"] < 0.9
