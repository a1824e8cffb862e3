"""Accepting a change end to end: a shift opens an alert and freezes the stream's baseline
(drift_runs.baseline_mode = frozen, drift_baseline_frozen = 1); POST /models/{id}/accept goes
through drift-control to the worker, whose accept record lands in accepted_changes
(GET /models/{id}/accepted) and whose stream is judged against the rolling baseline again."""

from __future__ import annotations

import re

import httpx
import pytest
from api_support import make_settings, running_api, sql

from drift.topics import Topics
from tests.integration.stream_app.test_pinned_and_logs import SETTINGS, T0, events, rows_until
from tests.integration.workers import WorkerProcess, produce, query, wait_for

pytestmark = pytest.mark.integration
MODEL = "pin"  # the model of the shared event generator


def frozen_gauge(worker: WorkerProcess) -> float | None:
    text = httpx.get(worker.metrics_url, timeout=10).text
    found = re.search(
        rf'^drift_baseline_frozen{{model_id="{MODEL}",stream="input.x"}} (\S+)$', text, re.M
    )
    return float(found.group(1)) if found else None


def modes_after(dsn: str, end: float) -> set[str]:
    rows = query(
        dsn,
        "SELECT baseline_mode FROM drift_runs WHERE model_id = %s AND stream = 'input.x' "
        "AND window_end > to_timestamp(%s)",
        (MODEL, end),
    )
    return {r[0] for r in rows}


def test_accept_thaws_the_frozen_baseline_and_is_recorded(kafka, db_dsn, topic_prefix, tmp_path):
    topics = Topics(f"{topic_prefix}-")
    worker = WorkerProcess(kafka.bootstrap, db_dsn, topic_prefix, tmp_path, **SETTINGS)
    worker.start()
    try:
        produce(kafka.bootstrap, topics.events, events(T0, T0 + 400, 0.0, 1))
        produce(kafka.bootstrap, topics.events, events(T0 + 400, T0 + 700, 2.0, 2))
        wait_for(lambda: "frozen" in modes_after(db_dsn, T0), 120, "a frozen baseline", worker)
        wait_for(lambda: rows_until(db_dsn, T0 + 700), 120, "every window of the data", worker)
        wait_for(lambda: frozen_gauge(worker) == 1, 60, "drift_baseline_frozen = 1", worker)
        with running_api(make_settings(kafka.bootstrap, db_dsn, f"{topic_prefix}-")) as api:
            resp = api.client.post(f"/models/{MODEL}/accept", json={"by": "ana"})
            assert resp.status_code == 202, resp.text

            def recorded() -> list[dict]:
                return api.client.get(f"/models/{MODEL}/accepted").json()["items"]

            wait_for(lambda: recorded() != [], 60, "the accept stored", worker)
            [change] = recorded()
            assert change["streams"] == ["input.x"] and change["accepted_by"] == "ana"
        # the shifted data go on: judged against the rolling baseline, not a frozen one
        produce(kafka.bootstrap, topics.events, events(T0 + 700, T0 + 800, 2.0, 3))
        wait_for(lambda: rows_until(db_dsn, T0 + 790), 120, "windows after the accept", worker)
        wait_for(lambda: frozen_gauge(worker) == 0, 60, "drift_baseline_frozen = 0", worker)
    finally:
        worker.stop()
    assert modes_after(db_dsn, T0 + 700) == {"rolling"}
    assert sql(db_dsn, "SELECT count(*) FROM accepted_changes") == [(1,)]
