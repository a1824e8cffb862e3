"""The results sink's statements on real PostgreSQL: a calibrated drift result's verdict columns,
an upsert replacing them, and accept records (stored once however often replayed)."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
import pytest

from harness.messages import Message
from sinks.writers import OutputWriter
from tests.integration.workers import query

pytestmark = pytest.mark.integration

RESULT: dict[str, Any] = {
    "model_id": "m1",
    "stream": "input.country",
    "stream_kind": "categorical",
    "window_start": 1764547200,
    "window_end": 1764550800,
    "baseline_start": 1764460800,
    "baseline_end": 1764547200,
    "baseline_mode": "frozen",
    "status": "drift",
    "metrics": {"kl_divergence": 0.31, "psi": 0.6, "chi2_pvalue": 1e-9},
    "drifted_metrics": ["kl_divergence", "psi"],
    "recent_count": 1200,
    "baseline_count": 28000,
    "rule": "calibrated",
    "p_value": 1e-9,
    "q_value": 3e-9,
    "score": 9.0,
    "limit": 2.3,
    "limits": {"kl_divergence": 0.012, "psi": 0.024, "cosine_similarity": None},
    "test": "share@fresh",
    "effect": 0.21,
    "null_center": 9.1,
    "null_spread": 4.4,
    "subwindows": 23,
    "new_categories": {"count": 40, "share": 0.033},
    "bins": None,
}


def _message(topic: str, body: dict[str, Any]) -> Message:
    return Message(orjson.dumps(body), topic_name=topic)


def write(dsn: str, msgs: list[Message]) -> None:
    writer = OutputWriter("results", "alerts", "baselines")
    with psycopg.connect(dsn) as conn, conn.transaction():
        writer(conn, msgs)  # type: ignore[arg-type]


def test_verdict_columns_stored_and_replaced_by_an_upsert(db_dsn):
    write(db_dsn, [_message("results", RESULT)])
    cols = (
        "rule, p_value, q_value, score, score_limit, limits, test, effect, null_center, "
        "null_spread, subwindows, new_categories, baseline_mode"
    )
    [row] = query(db_dsn, f"SELECT {cols} FROM drift_runs")
    assert row == (
        "calibrated",
        1e-9,
        3e-9,
        9.0,
        2.3,
        RESULT["limits"],
        "share@fresh",
        0.21,
        9.1,
        4.4,
        23,
        {"count": 40, "share": 0.033},
        "frozen",
    )
    again = {**RESULT, "status": "ok", "p_value": 0.2, "score": 0.7, "baseline_mode": "rolling"}
    write(db_dsn, [_message("results", again)])
    assert query(db_dsn, "SELECT status, p_value, score, baseline_mode FROM drift_runs") == [
        ("ok", 0.2, 0.7, "rolling")
    ]


def test_accept_records_are_stored_once(db_dsn):
    accept = {
        "action": "accept",
        "model_id": "m1",
        "streams": ["input.country"],
        "by": "alice",
        "accepted_at": 1764550900.25,
    }
    write(db_dsn, [_message("baselines", accept)])
    write(db_dsn, [_message("baselines", accept)])  # a replay
    write(db_dsn, [_message("baselines", {**accept, "streams": [], "accepted_at": 1.0})])
    rows = query(
        db_dsn,
        "SELECT streams, accepted_by, extract(epoch FROM accepted_at) FROM accepted_changes "
        "ORDER BY accepted_at DESC",
    )
    assert [(r[0], r[1], float(r[2])) for r in rows] == [
        (["input.country"], "alice", 1764550900.25),
        ([], "alice", 1.0),
    ]


def test_quality_signals_are_stored_with_their_issues(db_dsn):
    quality = {
        "issues": ["missing"],
        "missing_share": 0.2,
        "baseline_missing_share": 0.01,
        "out_of_range_share": 0.0,
        "new_category_share": None,
        "schema": None,
        "p_values": {"missing": 1e-30, "out_of_range": 1.0},
    }
    calm = {
        **RESULT,
        "stream": "input.x",
        "stream_kind": "numeric",
        "quality": {**quality, "issues": []},
    }
    write(
        db_dsn,
        [_message("results", {**RESULT, "quality": quality}), _message("results", calm)],
    )
    rows = query(db_dsn, "SELECT stream, quality, quality_issues FROM drift_runs ORDER BY stream")
    assert rows == [("input.country", quality, ["missing"]), ("input.x", calm["quality"], [])]
    # the streams with a given issue, as an operator would ask
    found = query(db_dsn, "SELECT stream FROM drift_runs WHERE 'missing' = ANY(quality_issues)")
    assert found == [("input.country",)]
