"""POST /alertmanager/webhook: store what Alertmanager delivers, one row per alert."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api import queries
from api.deps import SettingsDep, WriterDep
from api.ingest import read_body
from api.schemas.alerts import AlertmanagerWebhook, WebhookAlert, WebhookResult
from api.schemas.common import errors

router = APIRouter(
    prefix="/alertmanager", tags=["alerts"], responses=errors(401, 413, 415, 422, 503)
)
_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": AlertmanagerWebhook.model_json_schema()}},
    }
}


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


@router.post(
    "/webhook",
    response_model=WebhookResult,
    summary="Alertmanager webhook receiver",
    openapi_extra=_BODY,
)
async def webhook(request: Request, pool: WriterDep, settings: SettingsDep) -> WebhookResult:
    """Alertmanager webhook (version 4): one alert_notifications row per alert.

    The body is read up to ``DRIFT_WEBHOOK_MAX_BODY_BYTES`` (413 beyond). With API keys on,
    Alertmanager authenticates with ``http_config.authorization`` (Bearer).
    """
    raw = await read_body(request, settings.webhook_max_body_bytes)
    try:
        payload = AlertmanagerWebhook.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc
    rows = [notification_row(payload.receiver, a) for a in payload.alerts]
    if rows:
        await queries.insert_notifications(pool, rows)
    return WebhookResult(stored=len(rows))
