"""`driftmon grafana push` and the annotator against a stand-in Grafana in the test process.

grafana-client uses niquests, which request-mocking libraries do not intercept, so a small
http.server on a free 127.0.0.1 port answers like Grafana's HTTP API and records every request.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import driftmon_cli
from grafana import dashboards
from grafana.annotations import GrafanaAnnotator, annotation_for
from grafana.publish import PushError, check_datasource, push

pytestmark = pytest.mark.unit

Reply = tuple[int, Any]
Route = Callable[[Any], Reply]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGrafana:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)

    def calls(self, method: str, path: str) -> list[Received]:
        return [r for r in self.requests if r.method == method and r.path == path]


def _default_routes() -> dict[tuple[str, str], Route]:
    def save_dashboard(body: Any) -> Reply:
        uid = body["dashboard"]["uid"]
        return 200, {"status": "success", "uid": uid, "url": f"/d/{uid}/x", "version": 1}

    return {
        ("GET", "/api/datasources/uid/driftmon-prometheus/health"): lambda _: (
            200, {"status": "OK", "message": "Successfully queried the Prometheus API."}),
        ("GET", "/api/datasources/uid/driftmon-postgres/health"): lambda _: (
            200, {"status": "OK", "message": "Database Connection OK"}),
        ("GET", "/api/folders/driftmon"): lambda _: (404, {"message": "folder not found"}),
        ("POST", "/api/folders"): lambda body: (200, {"uid": body["uid"], "title": body["title"]}),
        ("POST", "/api/dashboards/db"): save_dashboard,
        ("POST", "/api/annotations"): lambda _: (200, {"id": 7, "message": "Annotation added"}),
    }  # fmt: skip


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    fake = FakeGrafana(routes=_default_routes())

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            fake.requests.append(Received(self.command, self.path, dict(self.headers), body))
            route = fake.routes.get((self.command, self.path))
            status, payload = route(body) if route else (404, {"message": "not found"})
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle

        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _no_grafana_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("URL", "TOKEN", "USER", "PASSWORD"):
        monkeypatch.delenv(f"DRIFT_GRAFANA_{name}", raising=False)


def test_push_checks_every_datasource_then_publishes_every_dashboard(
    grafana: FakeGrafana, capsys: pytest.CaptureFixture[str]
) -> None:
    assert driftmon_cli.main(["grafana", "push", "--url", grafana.url, "--token", "s3cret"]) == 0

    paths = [(r.method, r.path) for r in grafana.requests]
    assert paths[:2] == [
        ("GET", "/api/datasources/uid/driftmon-postgres/health"),
        ("GET", "/api/datasources/uid/driftmon-prometheus/health"),
    ]
    assert paths[2:4] == [("GET", "/api/folders/driftmon"), ("POST", "/api/folders")]
    assert grafana.calls("POST", "/api/folders")[0].body == {
        "title": "AI Drift Monitor", "uid": "driftmon"}  # fmt: skip
    saved = grafana.calls("POST", "/api/dashboards/db")
    committed = {d["uid"]: d for d in dashboards.load_committed()}
    assert [r.body["dashboard"]["uid"] for r in saved] == sorted(committed)
    for request in saved:
        assert request.body["overwrite"] is True
        assert request.body["folderUid"] == "driftmon"
        assert request.body["dashboard"] == committed[request.body["dashboard"]["uid"]]
        assert "id" not in request.body["dashboard"]
    assert all(r.headers["Authorization"] == "Bearer s3cret" for r in grafana.requests)
    assert "published /d/driftmon-overview/x" in capsys.readouterr().out


def test_push_fails_clearly_and_publishes_nothing_when_a_datasource_is_unhealthy(
    grafana: FakeGrafana, capsys: pytest.CaptureFixture[str]
) -> None:
    message = 'pq: password authentication failed for user "driftmon_grafana"'
    grafana.routes[("GET", "/api/datasources/uid/driftmon-postgres/health")] = lambda _: (
        400, {"status": "ERROR", "message": message})  # fmt: skip

    assert driftmon_cli.main(["grafana", "push", "--url", grafana.url]) == 1

    err = capsys.readouterr().err
    assert "unhealthy Grafana datasource(s), nothing published" in err
    assert "driftmon-postgres: HTTP 400: pq: password authentication failed" in err
    assert "driftmon-prometheus" not in err
    assert len(grafana.calls("GET", "/api/datasources/uid/driftmon-prometheus/health")) == 1
    assert grafana.calls("POST", "/api/dashboards/db") == []


def test_health_answer_with_error_status_counts_as_unhealthy(grafana: FakeGrafana) -> None:
    from grafana_client import GrafanaApi

    grafana.routes[("GET", "/api/datasources/uid/driftmon-prometheus/health")] = lambda _: (
        200, {"status": "ERROR", "message": "connection refused"})  # fmt: skip
    api = GrafanaApi.from_url(grafana.url)
    health = check_datasource(api, "driftmon-prometheus")
    assert (health.ok, health.message) == (False, "connection refused")
    with pytest.raises(PushError, match="driftmon-prometheus: connection refused"):
        push(api, [], ["driftmon-prometheus"], folder_uid="f", folder_title="F")
    assert check_datasource(api, "missing").message == "HTTP 404: not found"


def test_basic_auth_from_the_environment_and_an_existing_folder(
    grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFT_GRAFANA_URL", grafana.url)
    monkeypatch.setenv("DRIFT_GRAFANA_USER", "admin")
    monkeypatch.setenv("DRIFT_GRAFANA_PASSWORD", "pw")
    grafana.routes[("GET", "/api/folders/driftmon")] = lambda _: (200, {"uid": "driftmon"})

    assert driftmon_cli.main(["grafana", "push"]) == 0

    expected = "Basic " + base64.b64encode(b"admin:pw").decode()
    assert all(r.headers["Authorization"] == expected for r in grafana.requests)
    assert grafana.calls("POST", "/api/folders") == []
    assert len(grafana.calls("POST", "/api/dashboards/db")) == 3


def test_a_refused_dashboard_names_its_uid(
    grafana: FakeGrafana, capsys: pytest.CaptureFixture[str]
) -> None:
    grafana.routes[("POST", "/api/dashboards/db")] = lambda _: (
        400, {"message": "Cannot save provisioned dashboard"})  # fmt: skip
    assert driftmon_cli.main(["grafana", "push", "--url", grafana.url]) == 1
    err = capsys.readouterr().err
    assert "Grafana refused dashboard 'driftmon-model'" in err


def test_push_without_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert driftmon_cli.main(["grafana", "push"]) == 2
    assert "--url" in capsys.readouterr().err


def test_annotator_posts_an_open_transition(grafana: FakeGrafana) -> None:
    annotator = GrafanaAnnotator(grafana.url, "tok")
    answer = annotator.annotate_alert({
        "transition": "open", "model_id": "fraud-v2", "stream": "feature1",
        "metric": "kl_divergence", "value": 0.31234, "threshold": 0.1,
        "at": "2026-11-26T10:05:00Z",
    })  # fmt: skip

    assert answer == {"id": 7, "message": "Annotation added"}
    (request,) = grafana.calls("POST", "/api/annotations")
    assert request.headers["Authorization"] == "Bearer tok"
    assert request.body["time"] == 1795687500000
    assert request.body["tags"] == ["driftmon", "fraud-v2", "feature1", "open"]
    assert request.body["text"] == (
        "kl_divergence drift: model fraud-v2, feature1 (value 0.3123, threshold 0.1)"
    )


def test_resolve_transition_from_an_alert_row() -> None:
    note = annotation_for({
        "status": "resolved", "model_id": 3, "stream": "prediction.class",
        "metric": "cosine_similarity", "opened_at": 100, "resolved_at": 200.5,
    })  # fmt: skip
    assert note == {
        "time_ms": 200500,
        "tags": ["driftmon", "3", "prediction.class", "resolve"],
        "text": "cosine_similarity resolved: model 3, prediction.class",
    }
    with pytest.raises(ValueError, match="no open/resolve action"):
        annotation_for({"model_id": "m", "stream": "s", "status": "drift"})


def test_calibrated_transition_names_the_test_score_and_limit() -> None:
    note = annotation_for({
        "transition": "open", "model_id": "m", "stream": "input.x",
        "trigger_metric": "calibrated:trend@15m", "value": 9.27, "threshold": 4.3, "at": 100,
    })  # fmt: skip
    assert note["text"] == (
        "drift: model m, input.x (calibrated trend@15m test: score 9.27, limit 4.3)"
    )
