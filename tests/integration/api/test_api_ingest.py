"""POST /inference and /inference/batch against real Kafka: 202 means the record is in the topic."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from api_support import Api, consume

pytestmark = pytest.mark.integration

EVENT = {
    "model_id": 1,
    "input_data": {"feature1": 0.5, "feature2": 0.3},
    "prediction": {"class": "positive", "score": 0.92},
    "confidence": 0.92,
}


def test_inference_lands_in_the_topic_keyed_by_model(api: Api):
    resp = api.client.post("/inference", json=EVENT)
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["status"] == "accepted" and body["event_id"]
    [msg] = consume(api.settings.kafka_bootstrap, api.topics.events, 1)
    assert msg.key() == b"1"
    value = json.loads(msg.value())
    assert value["event_id"] == body["event_id"]
    assert value["model_id"] == "1"
    assert value["input_data"] == EVENT["input_data"]
    assert isinstance(value["timestamp"], float)  # the ingest time, assigned when absent
    assert api.registry.get_sample_value("drift_api_ingested_events_total") == 1.0


def test_inference_keeps_a_given_event_id_and_timestamp(api: Api):
    stamp = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    event = {**EVENT, "event_id": "e-1", "timestamp": stamp.isoformat().replace("+00:00", "Z")}
    assert api.client.post("/inference", json=event).json()["event_id"] == "e-1"
    [msg] = consume(api.settings.kafka_bootstrap, api.topics.events, 1)
    assert json.loads(msg.value())["timestamp"] == stamp.timestamp()


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"confidence": 2}, "confidence"),
        ({"model_id": "bad id!"}, "model_id"),
        ({"input_data": "x"}, "input_data"),
        ({"timestamp": "yesterday"}, "timestamp"),
    ],
)
def test_invalid_event_is_422_naming_the_field(api: Api, patch, field):
    resp = api.client.post("/inference", json={**EVENT, **patch})
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["field"] == field
    assert field in error["message"]


def test_missing_field_and_bad_json_are_422(api: Api):
    resp = api.client.post("/inference", json={"model_id": 1})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "input_data"
    resp = api.client.post(
        "/inference", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_json"


def test_oversized_body_is_413(api: Api):
    big = {**EVENT, "metadata": {"blob": "x" * (api.settings.max_body_bytes + 1)}}
    resp = api.client.post("/inference", json=big)
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "payload_too_large"


def test_batch_accepts_valid_items_and_reports_invalid_ones(api: Api):
    batch = [EVENT, {**EVENT, "confidence": "high"}, {**EVENT, "model_id": "m2"}, 42]
    resp = api.client.post("/inference/batch", json=batch)
    assert resp.status_code == 207, resp.text
    body = resp.json()
    assert body["accepted"] == 2 and body["rejected"] == 2
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(1, "confidence"), (3, None)]
    assert body["errors"][0]["reason"] == "bad_confidence"
    msgs = consume(api.settings.kafka_bootstrap, api.topics.events, 2)
    ids = {e["event_id"] for m in msgs for e in json.loads(m.value())}
    assert ids == set(body["event_ids"])
    assert {m.key() for m in msgs} == {b"1", b"m2"}


def test_batch_object_form_all_valid_is_202(api: Api):
    resp = api.client.post("/inference/batch", json={"events": [EVENT] * 50})
    assert resp.status_code == 202
    assert resp.json()["accepted"] == 50 and resp.json()["errors"] == []
    assert api.registry.get_sample_value("drift_api_ingested_events_total") == 50.0


def test_batch_columnar_record_is_judged_row_by_row(api: Api):
    body = {
        "model_id": "m3",
        "columns": {
            "input.feature1": [0.5, 0.6, 0.7],
            "prediction.class": ["positive", "negative", "positive"],
            "confidence": [0.9, 1.5, None],
            "event_id": ["c1", "c2", "c3"],
        },
    }
    resp = api.client.post("/inference/batch", json=body)
    assert resp.status_code == 207, resp.text
    answer = resp.json()
    assert answer["accepted"] == 2 and answer["event_ids"] == ["c1", "c3"]
    assert [(e["index"], e["reason"]) for e in answer["errors"]] == [(1, "bad_confidence")]
    assert api.registry.get_sample_value("drift_api_ingested_events_total") == 2.0
    msgs = consume(api.settings.kafka_bootstrap, api.topics.events, 1)
    assert [e["event_id"] for m in msgs for e in json.loads(m.value())] == ["c1", "c3"]
    bad = {"model_id": "m3", "columns": {"input.x": [1], "confidence": [0.5, 0.5]}}
    resp = api.client.post("/inference/batch", json=bad)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "bad_columns"


def test_batch_columnar_record_with_binary_columns_means_its_arrays(api: Api):
    values = np.array([0.5, np.nan, 0.7], dtype="<f8").tobytes()
    f8 = {"f8": base64.b64encode(values).decode()}
    body = {"model_id": "m4", "columns": {"input.feature1": f8, "event_id": ["b1", "b2", "b3"]}}
    resp = api.client.post("/inference/batch", json=body)
    assert resp.status_code == 202, resp.text
    msgs = consume(api.settings.kafka_bootstrap, api.topics.events, 1)
    events = [e for m in msgs for e in json.loads(m.value())]
    assert [e["input_data"]["feature1"] for e in events] == [0.5, None, 0.7]
    broken = {"model_id": "m4", "columns": {"input.feature1": {"f8": "AAAA"}}}
    resp = api.client.post("/inference/batch", json=broken)
    error = resp.json()["error"]
    assert resp.status_code == 422 and error["code"] == "bad_columns"
    assert "not a whole number of 8-byte values" in error["message"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [([], 422, "empty_batch"), ({"items": []}, 422, "invalid_batch"), ("x", 422, "invalid_batch")],
)
def test_malformed_batches(api: Api, body, status, code):
    resp = api.client.post("/inference/batch", json=body)
    assert resp.status_code == status and resp.json()["error"]["code"] == code


def test_batch_over_the_event_limit_is_413(kafka, db_dsn, topic_prefix, topics):
    from api_support import make_settings, running_api

    settings = make_settings(kafka.bootstrap, db_dsn, topic_prefix, max_batch_events=3)
    with running_api(settings) as api:
        resp = api.client.post("/inference/batch", json=[EVENT] * 4)
    assert resp.status_code == 413 and resp.json()["error"]["field"] == "events"
