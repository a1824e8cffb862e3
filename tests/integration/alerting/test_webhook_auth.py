"""Issue 17, defect 10: the real Alertmanager delivers to the API's webhook with API keys on.

Before, every delivery got 401 (Alertmanager cannot send X-API-Key) and the webhook took a
100 MB body. Now the rendered config sends ``Authorization: Bearer`` from a credentials file
(``http_config.authorization``), the webhook accepts it, and bodies beyond
``DRIFT_WEBHOOK_MAX_BODY_BYTES`` are 413.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from harness import AlertmanagerServer
from prometheus.config import render_alertmanager_config
from tests.integration.api.api_support import Api, make_settings, running_api

pytestmark = pytest.mark.integration

KEY = "am-key-0123456789"
HEADERS = {"X-API-Key": KEY}


@pytest.fixture
def keyed_api(kafka, db_dsn, topic_prefix) -> Iterator[Api]:
    settings = make_settings(
        kafka.bootstrap, db_dsn, topic_prefix, insecure_local=False, api_keys=f"other,{KEY}"
    )
    with running_api(settings) as served:
        yield served


def alertmanager_for(api: Api, credentials_file: Path | None) -> AlertmanagerServer:
    url = f"{str(api.client.base_url).rstrip('/')}/alertmanager/webhook"
    text = render_alertmanager_config(
        url, "0s", "1s", "1h", webhook_credentials_file=str(credentials_file or "") or None
    )
    server = AlertmanagerServer(text)
    server.start()
    return server


def fire(am: AlertmanagerServer, alertname: str) -> None:
    alert = {
        "labels": {"alertname": alertname, "model_id": "m1", "severity": "warning"},
        "annotations": {"summary": "test"},
        "startsAt": datetime.now(UTC).isoformat(),
    }
    resp = httpx.post(f"{am.url}/api/v2/alerts", json=[alert], timeout=10)
    assert resp.status_code == 200, resp.text


def webhook_answers(api: Api, status: str) -> float:
    labels = {"method": "POST", "route": "/alertmanager/webhook", "status": status}
    return api.registry.get_sample_value("drift_api_requests_total", labels) or 0


def poll(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_alertmanager_with_bearer_credentials_reaches_the_webhook(keyed_api: Api, tmp_path):
    keyfile = tmp_path / "api_key"
    keyfile.write_text(KEY + "\n")
    am = alertmanager_for(keyed_api, keyfile)
    try:
        fire(am, "DeliveredWithKey")

        def stored():
            resp = keyed_api.client.get("/alerts/notifications", headers=HEADERS)
            assert resp.status_code == 200, resp.text
            return [n for n in resp.json()["items"] if n["alertname"] == "DeliveredWithKey"]

        [note] = poll(stored, 30, "the notification delivered by Alertmanager")
    finally:
        am.close()
    assert note["status"] == "firing" and note["model_id"] == "m1"
    assert webhook_answers(keyed_api, "200") >= 1
    assert webhook_answers(keyed_api, "401") == 0


def test_alertmanager_without_credentials_is_refused(keyed_api: Api):
    """The defect as it was: no credentials configured → 401, nothing stored."""
    am = alertmanager_for(keyed_api, None)
    try:
        fire(am, "NoKey")
        poll(lambda: webhook_answers(keyed_api, "401") >= 1, 30, "a refused delivery")
    finally:
        am.close()
    resp = keyed_api.client.get("/alerts/notifications", headers=HEADERS)
    assert resp.json()["items"] == []


def test_webhook_body_over_the_limit_is_413(keyed_api: Api):
    limit = keyed_api.settings.webhook_max_body_bytes
    chunk = b" " * 1_048_576

    def hundred_mb() -> Iterator[bytes]:  # chunked: no Content-Length to refuse up front
        yield b'{"alerts": ['
        for _ in range(100):
            yield chunk
        yield b"]}"

    headers = {**HEADERS, "Content-Type": "application/json"}
    resp = keyed_api.client.post("/alertmanager/webhook", content=hundred_mb(), headers=headers)
    assert resp.status_code == 413, resp.text
    assert resp.json()["error"]["code"] == "payload_too_large"
    assert str(limit) in resp.json()["error"]["message"]
    declared = keyed_api.client.post(
        "/alertmanager/webhook",
        content=b"x" * (limit + 1),
        headers={**headers, "Content-Length": str(limit + 1)},
    )
    assert declared.status_code == 413
