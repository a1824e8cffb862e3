"""POST /alertmanager/webhook: store what Alertmanager delivers, one row per alert."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from api import queries
from api.deps import WriterDep
from api.schemas.alerts import AlertmanagerWebhook, WebhookAlert, WebhookResult
from api.schemas.common import errors

router = APIRouter(prefix="/alertmanager", tags=["alerts"], responses=errors(401, 422, 503))


def _time(value: datetime | None) -> datetime | None:
    """Alertmanager sends 0001-01-01 for "not set"."""
    return None if value is None or value.year <= 1 else value


def notification_row(receiver: str | None, alert: WebhookAlert) -> dict[str, Any]:
    """The alert_notifications row of one webhook alert (labels give name, model, stream)."""
    labels = alert.labels
    return {
        "receiver": receiver,
        "status": alert.status,
        "alertname": labels.get("alertname", ""),
        "fingerprint": alert.fingerprint,
        "model_id": labels.get("model_id"),
        "stream": labels.get("stream"),
        "severity": labels.get("severity"),
        "labels": labels,
        "annotations": alert.annotations,
        "starts_at": _time(alert.startsAt),
        "ends_at": _time(alert.endsAt),
    }


@router.post("/webhook", response_model=WebhookResult, summary="Alertmanager webhook receiver")
async def webhook(payload: AlertmanagerWebhook, pool: WriterDep) -> WebhookResult:
    """Alertmanager webhook (version 4): one alert_notifications row per alert."""
    rows = [notification_row(payload.receiver, a) for a in payload.alerts]
    if rows:
        await queries.insert_notifications(pool, rows)
    return WebhookResult(stored=len(rows))
