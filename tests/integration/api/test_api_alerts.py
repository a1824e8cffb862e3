"""GET /alerts, POST /alertmanager/webhook and GET /alerts/notifications."""

from __future__ import annotations

import pytest
from api_support import Api, at, insert, sql

pytestmark = pytest.mark.integration


def alert(model_id: str, stream: str, minute: int, status: str = "open") -> dict:
    return {
        "model_id": model_id,
        "stream": stream,
        "metric": "kl_divergence",
        "status": status,
        "value": 0.3,
        "threshold": 0.1,
        "opened_at": at(minute),
        "resolved_at": at(minute + 5) if status == "resolved" else None,
    }


def test_alerts_filters_and_paging(api: Api):
    rows = [alert("m1", f"s{i}", i, "resolved" if i % 2 else "open") for i in range(12)]
    rows.append(alert("m2", "s0", 30))
    insert(api.dsn, "alerts", rows)

    def get(**params):
        return api.client.get("/alerts", params=params).json()

    assert [a["model_id"] for a in get(limit=2)["items"]] == ["m2", "m1"]
    assert {a["status"] for a in get(status="open")["items"]} == {"open"}
    assert len(get(status="open", model_id="m1")["items"]) == 6
    window = get(**{"from": at(3).isoformat(), "to": at(6).isoformat()})["items"]
    assert [a["stream"] for a in window] == ["s5", "s4", "s3"]
    streams, params = [], {"model_id": "m1", "limit": 5}
    while True:
        page = get(**params)
        streams += [a["stream"] for a in page["items"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert streams == [f"s{i}" for i in range(11, -1, -1)]
    assert api.client.get("/alerts", params={"status": "closed"}).status_code == 422


WEBHOOK = {
    "version": "4",
    "groupKey": '{}:{alertname="DriftDetected"}',
    "receiver": "driftmon-api",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "DriftDetected",
                "model_id": "m1",
                "stream": "feature1",
                "severity": "warning",
            },
            "annotations": {"summary": "drift on feature1"},
            "startsAt": "2026-11-26T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "abc123",
            "generatorURL": "http://prometheus/graph",
        },
        {
            "status": "resolved",
            "labels": {"alertname": "DriftApiDown", "severity": "critical"},
            "annotations": {},
            "startsAt": "2026-11-26T09:00:00Z",
            "endsAt": "2026-11-26T09:30:00Z",
            "fingerprint": "def456",
        },
    ],
}


def test_webhook_stores_one_row_per_alert_and_lists_them(api: Api):
    resp = api.client.post("/alertmanager/webhook", json=WEBHOOK)
    assert resp.status_code == 200 and resp.json() == {"stored": 2}
    [row] = sql(
        api.dsn,
        "SELECT receiver, alertname, model_id, stream, severity, ends_at, labels->>'stream' "
        "FROM alert_notifications WHERE fingerprint = 'abc123'",
    )
    assert row == ("driftmon-api", "DriftDetected", "m1", "feature1", "warning", None, "feature1")

    items = api.client.get("/alerts/notifications").json()["items"]
    assert {i["alertname"] for i in items} == {"DriftDetected", "DriftApiDown"}
    firing = api.client.get("/alerts/notifications", params={"status": "firing"}).json()
    assert [i["fingerprint"] for i in firing["items"]] == ["abc123"]
    by_model = api.client.get("/alerts/notifications", params={"model_id": "m1"}).json()
    assert [i["annotations"]["summary"] for i in by_model["items"]] == ["drift on feature1"]
    page = api.client.get("/alerts/notifications", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = api.client.get("/alerts/notifications", params={"cursor": page["next_cursor"]}).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_webhook_rejects_a_payload_without_alerts(api: Api):
    resp = api.client.post("/alertmanager/webhook", json={"version": "4"})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "alerts"
