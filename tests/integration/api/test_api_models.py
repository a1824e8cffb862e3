"""GET /models, /models/{id}; thresholds and baseline commands through drift-control."""

from __future__ import annotations

import json

import pytest
from api_support import Api, consume, insert, run_row, sql

pytestmark = pytest.mark.integration


@pytest.fixture
def models(api: Api) -> Api:
    sql(api.dsn, "INSERT INTO models (model_id) SELECT 'm' || g FROM generate_series(1, 5) g")
    insert(api.dsn, "drift_runs", [run_row("m1", s, m) for s in ("a", "b") for m in (1, 2)])
    return api


def test_models_list_pages(models: Api):
    first = models.client.get("/models", params={"limit": 3}).json()
    assert [m["model_id"] for m in first["items"]] == ["m1", "m2", "m3"]
    rest = models.client.get("/models", params={"cursor": first["next_cursor"]}).json()
    assert [m["model_id"] for m in rest["items"]] == ["m4", "m5"] and rest["next_cursor"] is None


def test_model_detail_has_latest_run_per_stream(models: Api):
    body = models.client.get("/models/m1").json()
    assert body["baseline_mode"] == "rolling" and body["thresholds"] == {}
    assert [(s["stream"], s["window_end"][11:16]) for s in body["streams"]] == [
        ("a", "00:02"),
        ("b", "00:02"),
    ]
    resp = models.client.get("/models/nope")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


def test_put_thresholds_stores_and_commands_the_worker(models: Api):
    thresholds = {"*": {"kl_divergence": 0.2}, "feature1": {"psi": 0.25}}
    resp = models.client.put("/models/m1/thresholds", json=thresholds)
    assert resp.status_code == 200 and resp.json()["thresholds"] == thresholds
    [(stored,)] = sql(models.dsn, "SELECT thresholds FROM models WHERE model_id = 'm1'")
    assert stored == thresholds
    [msg] = consume(models.settings.kafka_bootstrap, models.topics.control, 1)
    command = json.loads(msg.value())
    assert msg.key() == b"m1"
    assert command["action"] == "set_thresholds" and command["thresholds"] == thresholds
    # a model configured before it sends data is registered
    assert models.client.put("/models/new-model/thresholds", json={}).status_code == 200


def test_put_thresholds_rejects_unknown_metric_naming_it(models: Api):
    resp = models.client.put("/models/m1/thresholds", json={"*": {"accuracy": 0.5}})
    assert resp.status_code == 422
    assert "accuracy" in resp.json()["error"]["message"]
    resp = models.client.put("/models/m1/thresholds", json={"*": {"psi": "high"}})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "*.psi"


def test_pin_and_unpin_baseline(models: Api):
    resp = models.client.put("/models/m2/baseline")
    assert resp.status_code == 202
    assert resp.json() == {"model_id": "m2", "action": "pin_baseline", "status": "accepted"}
    assert sql(models.dsn, "SELECT baseline_mode FROM models WHERE model_id='m2'") == [("pinned",)]
    assert models.client.delete("/models/m2/baseline").status_code == 202
    assert sql(models.dsn, "SELECT baseline_mode FROM models WHERE model_id='m2'") == [("rolling",)]
    msgs = consume(models.settings.kafka_bootstrap, models.topics.control, 2)
    assert sorted(json.loads(m.value())["action"] for m in msgs) == [
        "pin_baseline",
        "unpin_baseline",
    ]
    assert models.client.put("/models/unknown/baseline").status_code == 404
