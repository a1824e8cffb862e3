"""The results sink's row mapping: drift-results messages → drift_runs rows, accept records →
accepted_changes rows, checked against the statements that bind them."""

from __future__ import annotations

import re

import numpy as np
import orjson
import pytest
from psycopg.types.json import Jsonb

from sinks import queries
from sinks.writers import accepted_change, drift_run
from tests.unit.stream_app.test_processor import DictStore, make, records, run

pytestmark = pytest.mark.unit


def placeholders(statement: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)s", statement))


@pytest.fixture(scope="module")
def results() -> list[dict]:
    """drift-results messages of a calm hour then a shift, as the sink reads them (JSON)."""
    rng = np.random.default_rng(3)
    store = DictStore()
    calm = records(0, 4200, 2, 0.0, rng, 0)
    shifted = records(4200, 1200, 2, 1.5, rng, len(calm))
    reports = run(make(store), store, calm + shifted)
    return [orjson.loads(orjson.dumps(r)) for rep in reports for r in rep.results]


def test_row_binds_every_placeholder_of_the_upsert(results):
    row = drift_run(results[-1])
    assert placeholders(queries.UPSERT_DRIFT_RUN) <= row.keys()


def test_calibrated_result_maps_to_the_verdict_columns(results):
    judged = [r for r in results if r["rule"] == "calibrated" and r["p_value"] is not None]
    assert judged, "the scenario gives calibrated verdicts"
    drifted = next(r for r in reversed(judged) if r["stream"] == "input.x")
    row = drift_run(drifted)
    assert row["status"] == "drift" and row["rule"] == "calibrated"
    assert row["p_value"] == drifted["p_value"] and 0 <= row["p_value"] <= 1
    assert row["q_value"] == drifted["q_value"] and row["q_value"] >= row["p_value"]
    assert row["score"] == drifted["score"] and row["score"] >= drifted["limit"]
    assert row["score_limit"] == drifted["limit"]
    assert row["test"] == drifted["test"] and row["subwindows"] == drifted["subwindows"] > 0
    assert row["effect"] == drifted["effect"] and row["null_center"] == drifted["null_center"]
    assert row["null_spread"] == drifted["null_spread"]
    assert isinstance(row["limits"], Jsonb) and row["limits"].obj == drifted["limits"]
    assert isinstance(row["new_categories"], Jsonb)
    assert set(row["new_categories"].obj) == {"count", "share"}
    assert row["kl_divergence"] == drifted["metrics"]["kl_divergence"]


def test_quality_signals_map_to_their_columns(results):
    row = drift_run(results[-1])
    quality = results[-1]["quality"]
    assert quality is not None and set(quality) >= {"issues", "missing_share", "p_values"}
    assert isinstance(row["quality"], Jsonb) and row["quality"].obj == quality
    assert row["quality_issues"] == quality["issues"]


def test_result_of_an_older_worker_stores_nulls():
    old = {
        "model_id": "m1",
        "stream": "x",
        "stream_kind": "numeric",
        "window_start": 0,
        "window_end": 3600,
        "baseline_start": None,
        "baseline_end": None,
        "baseline_mode": "rolling",
        "status": "ok",
        "metrics": {"kl_divergence": 0.01},
        "drifted_metrics": [],
        "recent_count": 300,
        "baseline_count": 3000,
        "bins": None,
    }
    row = drift_run(old)
    assert placeholders(queries.UPSERT_DRIFT_RUN) <= row.keys()
    columns = ("rule", "p_value", "score", "score_limit", "limits", "new_categories", "bins")
    for column in (*columns, "quality", "quality_issues"):
        assert row[column] is None, column
    assert row["kl_divergence"] == 0.01 and row["psi"] is None


def test_accept_record_maps_to_an_accepted_changes_row():
    body = {
        "action": "accept",
        "model_id": "m1",
        "streams": ["input.x", "confidence"],
        "by": "alice",
        "accepted_at": 1764550000.5,
    }
    row = accepted_change(body)
    assert row == {
        "model_id": "m1",
        "streams": ["input.x", "confidence"],
        "accepted_by": "alice",
        "accepted_at": 1764550000.5,
    }
    assert placeholders(queries.INSERT_ACCEPTED_CHANGE) == row.keys()
    assert accepted_change({**body, "by": None, "streams": []})["accepted_by"] == "unknown"
