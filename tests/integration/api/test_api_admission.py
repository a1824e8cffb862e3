"""Issue 17, defect 6 on a real server (Kafka, PostgreSQL): models are admitted, not grabbed.

Before, 1,000 junk model ids filled max_models and PUT thresholds for new ids bypassed the cap.
Now every write creating model state (ingest, batch, thresholds, baseline pin) admits the id
within a quota per API key and a global one (table model_admissions), answering 429 naming the
limit; a model idle past DRIFT_MODEL_IDLE_EVICT_SECONDS frees its slot.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from api_support import Api, make_settings, running_api, sql

pytestmark = pytest.mark.integration

A, B = {"X-API-Key": "key-a"}, {"X-API-Key": "key-b"}


def event(model_id: str) -> dict:
    return {"model_id": model_id, "input_data": {"f": 0.5}, "prediction": 1, "confidence": 0.9}


@pytest.fixture
def quota_api(kafka, db_dsn, topic_prefix, topics) -> Iterator[Api]:
    settings = make_settings(
        kafka.bootstrap,
        db_dsn,
        topic_prefix,
        insecure_local=False,
        api_keys="key-a,key-b",
        models_per_key=5,
        max_models=8,
        admission_touch_seconds=0,  # every write asks PostgreSQL (no process cache in the test)
    )
    with running_api(settings) as served:
        yield served


def test_junk_ids_are_429_while_another_key_admits_a_new_model(quota_api: Api):
    c = quota_api.client
    for i in range(5):
        assert c.post("/inference", json=event(f"a{i}"), headers=A).status_code == 202
    junk = c.post("/inference", json=event("junk-1"), headers=A)
    assert junk.status_code == 429, junk.text
    error = junk.json()["error"]
    assert error["code"] == "model_quota_exceeded" and error["field"] == "model_id"
    assert "DRIFT_MODELS_PER_KEY=5" in error["message"]
    batch = c.post("/inference/batch", json=[event(f"junk-{i}") for i in range(100)], headers=A)
    assert batch.status_code == 429
    # thresholds and a baseline pin for a new id respect the quota too
    put = c.put("/models/junk-x/thresholds", json={"*": {"psi": 0.3}}, headers=A)
    assert put.status_code == 429 and put.json()["error"]["code"] == "model_quota_exceeded"
    assert c.put("/models/junk-y/baseline", headers=A).status_code == 429
    # admitted models of the key keep working; a mixed batch refuses only the new one
    mixed = c.post("/inference/batch", json=[event("a0"), event("junk-2")], headers=A)
    assert mixed.status_code == 207
    assert [(e["index"], e["reason"]) for e in mixed.json()["errors"]] == [
        (1, "model_quota_exceeded")
    ]
    # a legitimate new model under another key is admitted
    assert c.post("/inference", json=event("b-legit"), headers=B).status_code == 202
    assert (
        c.put("/models/b-legit/thresholds", json={"*": {"psi": 0.3}}, headers=B).status_code == 200
    )
    counted = quota_api.registry.get_sample_value(
        "drift_api_rejected_events_total", {"reason": "model_quota_exceeded"}
    )
    assert counted == 1 + 100 + 1
    assert sql(quota_api.dsn, "SELECT count(*) FROM models WHERE model_id LIKE 'junk%'") == [(0,)]


def test_global_cap_is_429_naming_max_models(quota_api: Api):
    c = quota_api.client
    for i in range(5):
        assert c.post("/inference", json=event(f"a{i}"), headers=A).status_code == 202
    for i in range(3):
        assert c.post("/inference", json=event(f"b{i}"), headers=B).status_code == 202
    full = c.post("/inference", json=event("b3"), headers=B)
    assert full.status_code == 429
    assert full.json()["error"]["code"] == "max_models_reached"
    assert "DRIFT_MAX_MODELS=8" in full.json()["error"]["message"]

    slots = c.get("/models/admissions", headers=A).json()
    assert (slots["max_models"], slots["admitted"], slots["free"]) == (8, 8, 0)
    by_key = {k["admitted"]: k for k in slots["keys"]}
    assert set(by_key) == {5, 3} and by_key[5]["free"] == 0 and by_key[3]["free"] == 2
    assert all(k["key_id"] not in ("key-a", "key-b") for k in slots["keys"])  # never the key


def test_idle_models_free_their_slots(quota_api: Api):
    c = quota_api.client
    for i in range(5):
        assert c.post("/inference", json=event(f"a{i}"), headers=A).status_code == 202
    assert c.post("/inference", json=event("a5"), headers=A).status_code == 429
    sql(
        quota_api.dsn,
        "UPDATE model_admissions SET last_seen_at = now() - interval '8 days' "
        "WHERE model_id IN ('a0', 'a1')",
    )
    for model_id in ("a5", "a6"):
        assert c.post("/inference", json=event(model_id), headers=A).status_code == 202
    assert c.post("/inference", json=event("a7"), headers=A).status_code == 429
    # the idle model comes back only if there is room again
    assert c.post("/inference", json=event("a0"), headers=A).status_code == 429


def test_concurrent_new_models_never_overshoot_the_quota(quota_api: Api):
    url = str(quota_api.client.base_url)

    def post(i: int) -> int:
        with httpx.Client(base_url=url, timeout=30) as client:
            return client.post("/inference", json=event(f"c{i}"), headers=A).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(post, range(40)))
    assert statuses.count(202) == 5 and statuses.count(429) == 35, statuses
    assert sql(quota_api.dsn, "SELECT count(*) FROM model_admissions") == [(5,)]
