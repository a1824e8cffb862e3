"""Issue 17, defect 12 on a real server (Kafka, PostgreSQL): secure defaults.

Writes need a key unless insecure-local is on; browsers cannot write from a foreign page
(JSON only: 415, foreign Origin: 403); the Host header is checked (400); threshold values are
checked per metric; the docs need a key once keys are set.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import Api, make_settings, running_api

pytestmark = pytest.mark.integration

KEY = "k-secret-1"
EVENT = {"model_id": "m1", "input_data": {"f": 0.5}, "prediction": 1, "confidence": 0.9}
WRITES = [
    ("POST", "/inference", EVENT),
    ("POST", "/inference/batch", [EVENT]),
    ("PUT", "/models/m1/thresholds", {"*": {"psi": 0.2}}),
    ("PUT", "/models/m1/baseline", None),
    ("DELETE", "/models/m1/baseline", None),
    ("POST", "/alertmanager/webhook", {"receiver": "r", "status": "firing", "alerts": []}),
]


@pytest.fixture
def closed_api(kafka, db_dsn, topic_prefix, topics) -> Iterator[Api]:
    """No keys and insecure-local off: the production default."""
    settings = make_settings(kafka.bootstrap, db_dsn, topic_prefix, insecure_local=False)
    with running_api(settings) as served:
        yield served


@pytest.fixture
def keyed_api(kafka, db_dsn, topic_prefix, topics) -> Iterator[Api]:
    settings = make_settings(
        kafka.bootstrap,
        db_dsn,
        topic_prefix,
        insecure_local=False,
        api_keys=KEY,
        allowed_origins="https://ops.example.com",
    )
    with running_api(settings) as served:
        yield served


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_writes_without_a_key_are_401_when_insecure_local_is_off(closed_api, method, path, body):
    resp = closed_api.client.request(method, path, json=body)
    assert resp.status_code == 401, resp.text
    assert "DRIFT_INSECURE_LOCAL" in resp.json()["error"]["message"]


def test_reads_stay_open_without_keys(closed_api):
    assert closed_api.client.get("/models").status_code == 200
    assert closed_api.client.get("/docs").status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_writes_with_keys_need_a_valid_key(keyed_api, method, path, body):
    assert keyed_api.client.request(method, path, json=body).status_code == 401
    bad = keyed_api.client.request(method, path, json=body, headers={"X-API-Key": "nope"})
    assert bad.status_code == 401
    good = keyed_api.client.request(method, path, json=body, headers={"X-API-Key": KEY})
    assert good.status_code not in (401, 403, 415), good.text


def test_bearer_key_is_accepted_like_x_api_key(keyed_api):
    body = {"receiver": "r", "status": "firing", "alerts": []}
    resp = keyed_api.client.post(
        "/alertmanager/webhook", json=body, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert resp.status_code == 200, resp.text
    wrong = keyed_api.client.post(
        "/alertmanager/webhook", json=body, headers={"Authorization": "Bearer x"}
    )
    assert wrong.status_code == 401


def test_docs_need_a_key_once_keys_are_set(keyed_api):
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert keyed_api.client.get(path).status_code == 401, path
        assert keyed_api.client.get(path, headers={"X-API-Key": KEY}).status_code == 200, path
    assert keyed_api.client.get("/healthz").status_code in (200, 503)  # probes stay open


def test_docs_public_setting_opens_them(kafka, db_dsn, topic_prefix, topics):
    settings = make_settings(kafka.bootstrap, db_dsn, topic_prefix, api_keys=KEY, docs_public=True)
    with running_api(settings) as api:
        assert api.client.get("/openapi.json").status_code == 200
        assert api.client.get("/models").status_code == 401  # the rest still needs the key


def test_text_plain_post_is_415(api: Api):
    """What a foreign page can send without a CORS preflight."""
    resp = api.client.post(
        "/inference",
        content=b'{"model_id": "m1", "input_data": {"f": 1}}',
        headers={"Content-Type": "text/plain"},
    )
    assert resp.status_code == 415, resp.text
    assert resp.json()["error"]["code"] == "unsupported_media_type"
    form = api.client.post("/alertmanager/webhook", data={"a": "b"})
    assert form.status_code == 415


def test_foreign_origin_is_403_own_and_allowed_origins_pass(keyed_api):
    headers = {"X-API-Key": KEY, "Origin": "https://evil.example"}
    resp = keyed_api.client.post("/inference", json=EVENT, headers=headers)
    assert resp.status_code == 403, resp.text
    assert resp.json()["error"] == {
        "code": "forbidden_origin",
        "message": "Origin 'https://evil.example' is not allowed",
        "field": "Origin",
    }
    own = str(keyed_api.client.base_url).rstrip("/")
    for origin in (own, "https://ops.example.com"):
        ok = keyed_api.client.post("/inference", json=EVENT, headers={**headers, "Origin": origin})
        assert ok.status_code == 202, (origin, ok.text)
    # reads carry no CSRF risk: a foreign Origin on GET is not refused
    get = keyed_api.client.get("/models", headers=headers)
    assert get.status_code == 200


def test_unknown_host_header_is_400(api: Api):
    resp = api.client.get("/models", headers={"Host": "evil.example:8000"})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_host"
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
        assert api.client.get("/models", headers={"Host": host}).status_code == 200, host


@pytest.mark.parametrize(
    ("metric", "value"),
    [
        ("kl_divergence", 1e308),
        ("psi", -5),
        ("cosine_similarity", 1.5),
        ("chi2_pvalue", -0.1),
        ("js_distance", 2),
        ("hellinger", float("nan")),
    ],
)
def test_threshold_out_of_its_metric_range_is_422(api: Api, metric, value):
    resp = api.client.put(
        "/models/m1/thresholds",
        content=f'{{"*": {{"{metric}": {value}}}}}'.replace("nan", "NaN"),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 422, resp.text
    assert metric in resp.json()["error"]["message"]


def test_thresholds_at_the_range_edges_are_accepted(api: Api):
    body = {"*": {"cosine_similarity": -1, "chi2_pvalue": 1, "psi": 0, "kl_divergence": 1000}}
    assert api.client.put("/models/m1/thresholds", json=body).status_code == 200
