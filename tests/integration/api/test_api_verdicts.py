"""Calibrated verdicts through the API: the verdict fields of drift_runs in /drift/latest and
/drift/history, accepting a change (POST /models/{id}/accept, `driftmon accept`), the baseline
mode and the accepted-changes history."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from api_support import Api, at, consume, insert, run_row, sql
from psycopg.types.json import Jsonb

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]

LIMITS = {"kl_divergence": 0.0042, "psi": 0.0085, "ks_statistic": None}
VERDICT: dict[str, Any] = {
    "rule": "calibrated",
    "p_value": 2.5e-7,
    "q_value": 7.5e-7,
    "score": 6.6,
    "score_limit": 2.6,
    "test": "trend@fresh",
    "effect": 0.12,
    "null_center": 11.25,
    "null_spread": 5.5,
    "subwindows": 23,
}


@pytest.fixture
def verdicts(api: Api) -> Api:
    sql(api.dsn, "INSERT INTO models (model_id) VALUES ('m1'), ('m2')")
    insert(api.dsn, "drift_runs", [run_row("m1", "a", 1)])  # before verdicts: nulls
    rows = [
        run_row(
            "m1",
            "a",
            m,
            status="drift",
            baseline_mode="frozen",
            limits=Jsonb(LIMITS),
            new_categories=Jsonb({"count": 3, "share": 0.25}),
            **{**VERDICT, "p_value": VERDICT["p_value"] * m},
        )
        for m in (2, 3)
    ]
    fixed = {**VERDICT, "rule": "fixed", "p_value": None, "q_value": None, "score": 0.4}
    fixed.update(score_limit=1.0, test=None, null_center=None, null_spread=None)
    rows.append(
        run_row(
            "m1",
            "b",
            3,
            limits=Jsonb({"kl_divergence": 0.1}),
            new_categories=Jsonb({"count": 0, "share": 0.0}),
            baseline_mode="pinned",
            **fixed,
        )
    )
    insert(api.dsn, "drift_runs", rows)  # every row with the same columns
    return api


def expected(p_value: float) -> dict[str, Any]:
    out = {k: v for k, v in VERDICT.items() if k != "score_limit"}
    return {
        **out,
        "p_value": p_value,
        "limit": VERDICT["score_limit"],
        "limits": LIMITS,
        "new_categories": {"count": 3, "share": 0.25},
        "baseline_mode": "frozen",
    }


def test_latest_returns_the_verdict_fields(verdicts: Api):
    items = verdicts.client.get("/drift/latest", params={"model_id": "m1"}).json()["items"]
    by_stream = {r["stream"]: r for r in items}
    a, b = by_stream["a"], by_stream["b"]
    assert {k: a[k] for k in expected(0)} == expected(VERDICT["p_value"] * 3)
    assert (b["rule"], b["p_value"], b["score"], b["limit"]) == ("fixed", None, 0.4, 1.0)
    assert b["limits"] == {"kl_divergence": 0.1}


def test_history_returns_the_verdict_fields_and_nulls_for_old_rows(verdicts: Api):
    params = {"model_id": "m1", "stream": "a"}
    items = verdicts.client.get("/drift/history", params=params).json()["items"]
    assert [r["window_end"][11:16] for r in items] == ["00:03", "00:02", "00:01"]
    assert {k: items[1][k] for k in expected(0)} == expected(VERDICT["p_value"] * 2)
    old = items[2]
    for field in ("rule", "p_value", "q_value", "score", "limit", "limits", "test", "effect"):
        assert old[field] is None, field
    assert old["new_categories"] is None and old["subwindows"] is None
    # the ?metric= form returns them too
    kl = verdicts.client.get("/drift/history", params={**params, "metric": "kl_divergence"})
    assert kl.json()["items"][0]["score"] == VERDICT["score"]


def control_commands(api: Api, count: int) -> list[tuple[bytes, dict[str, Any]]]:
    msgs = consume(api.settings.kafka_bootstrap, api.topics.control, count)
    return [(m.key(), json.loads(m.value())) for m in msgs]


def test_accept_puts_accept_change_on_drift_control(verdicts: Api):
    resp = verdicts.client.post("/models/m1/accept", json={"stream": "a", "by": "ana"})
    assert resp.status_code == 202
    assert resp.json() == {
        "model_id": "m1",
        "action": "accept_change",
        "stream": "a",
        "by": "ana",
        "status": "accepted",
    }
    # every stream, nobody named: "api"; with a key: the key's name, never the key
    assert verdicts.client.post("/models/m1/accept", json={}).json()["by"] == "api"
    keyed = verdicts.client.post("/models/m1/accept", json={}, headers={"X-API-Key": "s3cret"})
    name = "key:" + hashlib.sha256(b"s3cret").hexdigest()[:16]
    assert keyed.json()["by"] == name
    commands = control_commands(verdicts, 3)
    assert [k for k, _ in commands] == [b"m1"] * 3
    first, second, third = (c for _, c in commands)
    assert {k: first[k] for k in ("action", "model_id", "stream", "by")} == {
        "action": "accept_change",
        "model_id": "m1",
        "stream": "a",
        "by": "ana",
    }
    assert isinstance(first["requested_at"], float)
    assert (second["stream"], second["by"]) == (None, "api")
    assert third["by"] == name and "s3cret" not in json.dumps(third)


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/models/unknown/accept", {}, 404),
        ("/models/m1/accept", {"stream": ""}, 422),
        ("/models/m1/accept", {"by": "x" * 201}, 422),
        ("/models/m1/accept", {"streams": ["a"]}, 422),
        ("/models/bad%20id/accept", {}, 422),
    ],
)
def test_accept_refuses_unknown_models_and_bad_bodies(verdicts: Api, path, body, status):
    assert verdicts.client.post(path, json=body).status_code == status


def test_baseline_mode_commands_the_worker_and_survives_a_pin(verdicts: Api):
    def modes() -> list[tuple[str, str]]:
        return sql(
            verdicts.dsn, "SELECT baseline_mode, unpinned_mode FROM models WHERE model_id='m2'"
        )

    resp = verdicts.client.put("/models/m2/baseline-mode", json={"mode": "seasonal"})
    assert resp.status_code == 202
    body = resp.json()
    assert (body["action"], body["baseline_mode"], body["unpinned_mode"]) == (
        "set_baseline_mode",
        "seasonal",
        "seasonal",
    )
    assert modes() == [("seasonal", "seasonal")]
    assert verdicts.client.put("/models/m2/baseline").status_code == 202
    assert modes() == [("pinned", "seasonal")]
    back = verdicts.client.put("/models/m2/baseline-mode", json={"mode": "rolling"})
    assert back.json()["baseline_mode"] == "pinned"  # the pin stays in force
    assert verdicts.client.put("/models/m2/baseline-mode", json={"mode": "seasonal"}).is_success
    assert verdicts.client.delete("/models/m2/baseline").status_code == 202
    assert modes() == [("seasonal", "seasonal")]  # unpinned: back to its own mode
    commands = [c for _, c in control_commands(verdicts, 5)]
    assert [(c["action"], c.get("mode")) for c in commands] == [
        ("set_baseline_mode", "seasonal"),
        ("pin_baseline", None),
        ("set_baseline_mode", "rolling"),
        ("set_baseline_mode", "seasonal"),
        ("unpin_baseline", None),
    ]
    assert (
        verdicts.client.put("/models/m2/baseline-mode", json={"mode": "pinned"}).status_code == 422
    )
    assert (
        verdicts.client.put("/models/nope/baseline-mode", json={"mode": "rolling"}).status_code
        == 404
    )


def test_accepted_history_pages_newest_first(verdicts: Api):
    rows = [
        {"model_id": "m1", "streams": [f"s{i}"], "accepted_by": "ana", "accepted_at": at(i)}
        for i in range(5)
    ]
    rows.append({"model_id": "m2", "streams": [], "accepted_by": "bo", "accepted_at": at(9)})
    insert(verdicts.dsn, "accepted_changes", rows)
    first = verdicts.client.get("/models/m1/accepted", params={"limit": 3}).json()
    assert [c["streams"] for c in first["items"]] == [["s4"], ["s3"], ["s2"]]
    assert first["items"][0]["accepted_by"] == "ana"
    assert first["items"][0]["accepted_at"] == "2026-11-26T00:04:00Z"
    rest = verdicts.client.get("/models/m1/accepted", params={"cursor": first["next_cursor"]})
    assert [c["streams"] for c in rest.json()["items"]] == [["s1"], ["s0"]]
    assert rest.json()["next_cursor"] is None
    assert verdicts.client.get("/models/m3/accepted").json() == {"items": [], "next_cursor": None}


def test_driftmon_accept_posts_through_the_api(verdicts: Api):
    cmd = [sys.executable, "driftmon_cli.py", "accept", "m1", "--stream", "a", "--by", "cli"]
    done = subprocess.run(
        [*cmd, "--api", str(verdicts.client.base_url)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["by"] == "cli"
    [(key, command)] = control_commands(verdicts, 1)
    assert key == b"m1" and (command["action"], command["stream"], command["by"]) == (
        "accept_change",
        "a",
        "cli",
    )
    missing = subprocess.run(
        [
            sys.executable,
            "driftmon_cli.py",
            "accept",
            "nope",
            "--api",
            str(verdicts.client.base_url),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1 and "404" in missing.stderr
