"""/stats, /healthz, /metrics, API keys, the error body, the read-only reader pool."""

from __future__ import annotations

import pytest
from api_support import Api, at, insert, make_settings, run_row, running_api, sql

pytestmark = pytest.mark.integration

EVENT = {"model_id": "m1", "input_data": {"x": 1.0}}


def test_stats_counts(api: Api):
    sql(api.dsn, "INSERT INTO models (model_id) VALUES ('m1'), ('m2')")
    insert(api.dsn, "drift_runs", [run_row("m1", "a", m) for m in range(1, 8)])
    sql(
        api.dsn,
        "INSERT INTO alerts (model_id, stream, metric, status, opened_at) VALUES "
        "('m1','a','psi','open',%s), ('m1','b','psi','resolved',%s)",
        (at(1), at(2)),
    )
    sql(
        api.dsn,
        "INSERT INTO inference_logs (model_id, event_id, event_time, input_data) "
        "SELECT 'm1', 'e' || g, %s, '{}' FROM generate_series(1, 3) g",
        (at(9),),
    )
    api.client.post("/inference/batch", json=[EVENT] * 30)
    body = api.client.get("/stats").json()
    assert body["models"] == 2 and body["drift_runs"] == 7 and body["events"] == 3
    assert body["open_alerts"] == 1
    assert not body["events_estimated"] and not body["drift_runs_estimated"]
    assert body["last_drift_run_at"] == "2026-11-26T00:07:00Z"
    assert body["last_event_at"] == "2026-11-26T00:09:00Z"
    assert body["ingest_rate_per_s"] == pytest.approx(30 / 60)


def test_healthz_ok(api: Api):
    resp = api.client.get("/healthz")
    assert resp.status_code == 200, resp.text
    assert set(resp.json()["checks"]) == {"kafka", "postgres_writer", "postgres_reader"}


def test_healthz_503_when_the_topic_is_missing(kafka, db_dsn):
    with running_api(make_settings(kafka.bootstrap, db_dsn, "no-such-prefix-")) as api:
        resp = api.client.get("/healthz")
    assert resp.status_code == 503
    body = resp.json()
    assert body["error"]["code"] == "unhealthy" and not body["checks"]["kafka"]["ok"]


def test_metrics_use_route_templates(api: Api):
    api.client.get("/models/abc")
    api.client.get("/models/xyz")
    api.client.get("/no/such/path")
    api.client.post("/inference", json=EVENT)
    text = api.client.get("/metrics").text
    assert (
        'drift_api_requests_total{method="GET",route="/models/{model_id}",status="404"} 2.0' in text
    )
    assert 'route="<unmatched>"' in text and "/no/such/path" not in text
    assert "drift_api_request_duration_seconds_bucket" in text
    assert "drift_api_ingested_events_total 1.0" in text


def test_error_body_for_unknown_route_and_method(api: Api):
    resp = api.client.get("/nowhere")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    resp = api.client.delete("/stats")
    assert resp.status_code == 405 and resp.json()["error"]["code"] == "method_not_allowed"


def test_api_keys_guard_everything_but_health_and_metrics(kafka, db_dsn, topic_prefix, topics):
    settings = make_settings(kafka.bootstrap, db_dsn, topic_prefix, api_keys="k1, k2")
    with running_api(settings) as api:
        for method, path in [("GET", "/drift/latest"), ("GET", "/stats"), ("POST", "/inference")]:
            resp = api.client.request(method, path, json=EVENT)
            assert resp.status_code == 401, path
            assert resp.json()["error"]["code"] == "unauthorized"
        assert api.client.get("/stats", headers={"X-API-Key": "wrong"}).status_code == 401
        assert api.client.get("/stats", headers={"X-API-Key": "k2"}).status_code == 200
        ok = api.client.post("/inference", json=EVENT, headers={"X-API-Key": "k1"})
        assert ok.status_code == 202
        assert api.client.get("/healthz").status_code == 200
        assert api.client.get("/metrics").status_code == 200


def test_query_side_uses_the_read_only_login(postgres, kafka, db_dsn, topic_prefix, topics):
    postgres.create_login("driftmon_api_ro", "ro-secret", "driftmon_reader")
    read_url = db_dsn.replace("driftmon@", "driftmon_api_ro:ro-secret@")
    settings = make_settings(kafka.bootstrap, db_dsn, topic_prefix, database_read_url=read_url)
    insert(db_dsn, "drift_runs", [run_row("m1", "a", 1)])
    with running_api(settings) as api:
        assert len(api.client.get("/drift/latest").json()["items"]) == 1
        assert api.client.get("/healthz").status_code == 200
        users = sql(
            db_dsn,
            "SELECT DISTINCT usename FROM pg_stat_activity "
            "WHERE application_name = 'driftmon-api-reader'",
        )
    assert users == [("driftmon_api_ro",)]


def test_large_answers_are_gzipped_for_clients_that_accept_it(api: Api):
    gzipped = api.client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert gzipped.status_code == 200
    assert gzipped.headers["content-encoding"] == "gzip"
    assert int(gzipped.headers["content-length"]) < len(gzipped.content) / 3  # decoded by httpx
    plain = api.client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json() == gzipped.json()
