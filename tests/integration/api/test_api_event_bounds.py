"""Issue 17, defects 5 and 8 on a real server: bounded event time and bounded nesting depth.

Before: 6,000 events one day apart made 6,000 inference_logs partitions (GET /stats then timed
out), and metadata nested 254 deep gave 500 on both ingest endpoints and failed a whole batch.
Now both are 422 per event, named and counted in drift_api_rejected_events_total{reason}, and
nothing reaches Kafka.
"""

from __future__ import annotations

import json
import time

import pytest
from api_support import Api, consume

pytestmark = pytest.mark.integration

EVENT = {"model_id": "m1", "input_data": {"f": 0.5}, "prediction": 1, "confidence": 0.9}


def rejected(api: Api, reason: str) -> float:
    return api.registry.get_sample_value("drift_api_rejected_events_total", {"reason": reason}) or 0


def nested(depth: int) -> str:
    """JSON text of objects nested ``depth`` levels (too deep for Python's json encoder)."""
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


def post(api: Api, path: str, raw: str):
    return api.client.post(path, content=raw, headers={"Content-Type": "application/json"})


EVENT_TEXT = '{"model_id": "m1", "input_data": {"f": 0.5}, "prediction": 1, "confidence": 0.9'


def test_far_future_event_is_422_naming_field_and_bound(api: Api):
    resp = api.client.post("/inference", json={**EVENT, "timestamp": time.time() + 86400 * 30})
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "timestamp_in_future" and error["field"] == "timestamp"
    assert "300 s" in error["message"] and "DRIFT_MAX_FUTURE_SECONDS" in error["message"]
    assert rejected(api, "timestamp_in_future") == 1


def test_event_older_than_the_retained_span_is_422(api: Api):
    span = api.settings.recent_seconds + api.settings.baseline_seconds
    resp = api.client.post("/inference", json={**EVENT, "timestamp": time.time() - span - 60})
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["code"] == "timestamp_too_old" and error["field"] == "timestamp"
    assert f"{span} s" in error["message"]
    assert rejected(api, "timestamp_too_old") == 1


def test_probe_of_distinct_days_is_refused_per_event_and_never_reaches_kafka(api: Api):
    """The probe: timestamps 86400 * i. Only the events inside the bounds go through."""
    now = time.time()
    days = [{**EVENT, "timestamp": 86400.0 * i} for i in range(1, 2001)]
    inside = [{**EVENT, "timestamp": now - 3600}, {**EVENT, "timestamp": now + 60}]
    resp = api.client.post("/inference/batch", json=days + inside)
    assert resp.status_code == 207, resp.text
    body = resp.json()
    assert body["accepted"] == 2 and body["rejected"] == 2000
    reasons = {e["reason"] for e in body["errors"]}
    assert reasons <= {"timestamp_too_old", "timestamp_in_future"}
    assert rejected(api, "timestamp_too_old") + rejected(api, "timestamp_in_future") == 2000
    got = consume(api.settings.kafka_bootstrap, api.topics.events, 3, timeout=5)
    assert sum(len(json.loads(m.value())) for m in got) == 2


def test_deep_metadata_is_422_too_deep_naming_the_limit(api: Api):
    limit = api.settings.max_json_depth
    for depth in (limit + 1, 254, 300, 2000):
        resp = post(api, "/inference", f'{EVENT_TEXT}, "metadata": {nested(depth)}}}')
        assert resp.status_code == 422, (depth, resp.text)
        error = resp.json()["error"]
        assert error["code"] == "too_deep", error
        assert str(limit) in error["message"] or depth >= 1024
    ok = post(api, "/inference", f'{EVENT_TEXT}, "metadata": {nested(limit - 1)}}}')
    assert ok.status_code == 202, ok.text
    assert rejected(api, "too_deep") == 4
    # the whole body deeper than the parser's own limit (1024) is one 422 as well
    assert post(api, "/inference/batch", nested(2000)).json()["error"]["code"] == "too_deep"


def test_deep_event_in_a_batch_is_rejected_alone_with_its_index(api: Api):
    deep = f'{EVENT_TEXT}, "metadata": {nested(300)}}}'
    just_over = f'{EVENT_TEXT}, "metadata": {nested(api.settings.max_json_depth)}}}'
    resp = post(api, "/inference/batch", f"[{EVENT_TEXT}}}, {deep}, {just_over}]")
    assert resp.status_code == 207, resp.text
    body = resp.json()
    assert body["accepted"] == 1
    assert [(e["index"], e["reason"], e["field"]) for e in body["errors"]] == [
        (1, "too_deep", "metadata"),
        (2, "too_deep", "metadata"),
    ]
