"""POST /labels and /labels/batch against real Kafka: 202 means the label is in the topic."""

from __future__ import annotations

import json

import pytest
from api_support import Api, consume

pytestmark = pytest.mark.integration

LABEL = {"model_id": "m1", "event_id": "e-1", "label": "fraud"}


def test_a_label_lands_in_the_labels_topic_keyed_by_model(api: Api):
    resp = api.client.post("/labels", json=LABEL)
    assert resp.status_code == 202, resp.text
    [msg] = consume(api.settings.kafka_bootstrap, api.topics.labels, 1)
    assert msg.key() == b"m1"
    value = json.loads(msg.value())
    assert {k: value[k] for k in LABEL} == LABEL
    assert isinstance(value["timestamp"], float)  # the receive time, assigned when absent
    assert api.registry.get_sample_value("drift_api_ingested_labels_total") == 1.0


@pytest.mark.parametrize(
    ("body", "reason", "field"),
    [
        ({"model_id": "m1", "label": 1}, "missing_event_id", "event_id"),
        ({"model_id": "m1", "event_id": "e"}, "missing_label", "label"),
        ({"model_id": "m1", "event_id": "e", "label": {"a": 1}}, "bad_label", "label"),
        ({"model_id": "m 1", "event_id": "e", "label": 1}, "bad_model_id", "model_id"),
    ],
)
def test_a_bad_label_is_422_naming_the_field(api: Api, body, reason, field):
    resp = api.client.post("/labels", json=body)
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert (error["code"], error["field"]) == (reason, field)
    labels = {"reason": reason}
    assert api.registry.get_sample_value("drift_api_rejected_labels_total", labels) == 1.0


def test_a_batch_publishes_the_valid_labels_and_names_the_refused_ones(api: Api):
    batch = [
        {
            "model_id": "m1",
            "event_id": f"e-{i}",
            "label": i % 2 == 0,
            "timestamp": 1_796_083_200 + i,
        }
        for i in range(5)
    ]
    batch.insert(2, {"model_id": "m1", "event_id": "x", "label": None})
    resp = api.client.post("/labels/batch", json={"labels": batch})
    assert resp.status_code == 207, resp.text
    body = resp.json()
    assert (body["accepted"], body["rejected"]) == (5, 1)
    assert body["errors"][0]["index"] == 2 and body["errors"][0]["reason"] == "missing_label"
    got = consume(api.settings.kafka_bootstrap, api.topics.labels, 5)
    values = sorted((json.loads(m.value()) for m in got), key=lambda v: v["event_id"])
    assert [v["label"] for v in values] == [True, False, True, False, True]
    assert values[1]["timestamp"] == 1_796_083_201
    assert api.client.post("/labels/batch", json=batch[:2]).status_code == 202


def test_the_http_sdk_posts_batches_of_labels(api: Api):
    from producers import HttpDriftClient, IngestError

    with HttpDriftClient(str(api.client.base_url), batch_size=5) as client:
        for i in range(7):
            client.log_label("m1", f"e-{i}", i % 2 == 0, 1_796_083_200 + i)
    assert (client.labels_delivered, client.labels_failed) == (7, 0)
    got = [
        json.loads(m.value()) for m in consume(api.settings.kafka_bootstrap, api.topics.labels, 7)
    ]
    assert sorted(v["event_id"] for v in got) == [f"e-{i}" for i in range(7)]
    refused = HttpDriftClient(str(api.client.base_url), batch_size=2)
    refused.log_label("m1", "ok", "a")
    with pytest.raises(IngestError, match="1 refused"):
        refused.log_label("m1", "x" * 64, "b", timestamp="not a time")
    assert (refused.labels_delivered, refused.labels_failed) == (1, 1)
