"""Broker outage: POST /inference answers 503 fast, recovers after a restart, loses nothing."""

from __future__ import annotations

import json
import time

import pytest
from api_support import consume, make_settings, running_api

from drift.topics import Topics

pytestmark = pytest.mark.integration

EVENT = {"model_id": "m1", "input_data": {"x": 1.0}, "prediction": 0.5}


def _post(client, accepted: list[str]) -> tuple[int, float]:
    start = time.monotonic()
    resp = client.post("/inference", json=EVENT)
    elapsed = time.monotonic() - start
    if resp.status_code == 202:
        accepted.append(resp.json()["event_id"])
    return resp.status_code, elapsed


def test_broker_down_503_fast_then_recovers_without_loss(own_broker, db_dsn, topic_prefix):
    topics = Topics(topic_prefix)
    own_broker.create_topics(topics.all())
    accepted: list[str] = []
    with running_api(make_settings(own_broker.bootstrap, db_dsn, topic_prefix)) as api:
        for _ in range(5):
            assert _post(api.client, accepted)[0] == 202
        own_broker.stop()
        outage = [_post(api.client, accepted) for _ in range(6)]
        assert all(status == 503 for status, _ in outage), outage
        assert max(elapsed for _, elapsed in outage) < 2.0, outage
        resp = api.client.post("/inference", json=EVENT)
        assert resp.json()["error"]["code"] == "broker_unavailable"
        assert api.client.get("/healthz").status_code == 503

        own_broker.start()
        deadline = time.monotonic() + 60
        while _post(api.client, accepted)[0] != 202:
            assert time.monotonic() < deadline, "the API did not recover after the restart"
            time.sleep(0.2)
        for _ in range(5):
            assert _post(api.client, accepted)[0] == 202
    got = consume(own_broker.bootstrap, topics.events, len(accepted), timeout=60)
    stored = {json.loads(m.value())["event_id"] for m in got}
    assert set(accepted) <= stored


def test_labels_too_answer_503_fast_while_the_broker_is_down_and_lose_nothing(
    own_broker, db_dsn, topic_prefix
):
    topics = Topics(topic_prefix)
    own_broker.create_topics(topics.all())
    accepted: list[str] = []

    def post(i: int) -> tuple[int, float]:
        label = {"model_id": "m1", "event_id": f"e{i}", "label": "yes"}
        start = time.monotonic()
        resp = api.client.post("/labels", json=label)
        if resp.status_code == 202:
            accepted.append(label["event_id"])
        return resp.status_code, time.monotonic() - start

    with running_api(make_settings(own_broker.bootstrap, db_dsn, topic_prefix)) as api:
        assert [post(i)[0] for i in range(5)] == [202] * 5
        own_broker.stop()
        outage = [post(100 + i) for i in range(6)]
        assert all(status == 503 for status, _ in outage), outage
        assert max(elapsed for _, elapsed in outage) < 2.0, outage
        own_broker.start()
        deadline, i = time.monotonic() + 60, 200
        while post(i)[0] != 202:
            assert time.monotonic() < deadline, "the API did not recover after the restart"
            time.sleep(0.2)
            i += 1
        assert [post(1000 + j)[0] for j in range(5)] == [202] * 5
    got = consume(own_broker.bootstrap, topics.labels, len(accepted), timeout=60)
    stored = set()
    for m in got:
        body = json.loads(m.value())
        stored |= {lab["event_id"] for lab in (body if isinstance(body, list) else [body])}
    assert set(accepted) <= stored and len(accepted) >= 11
