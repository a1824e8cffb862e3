"""GET /alerts (raised by the monitor) and /alerts/notifications (delivered by Alertmanager)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api import cursor, queries
from api.core.encoding import FastJSON
from api.deps import ReaderDep, SettingsDep
from api.params import NO_NUL, Cursor, Limit, ModelIdQuery, Since, StreamQuery, Until, window
from api.schemas.alerts import AlertPage, NotificationPage
from api.schemas.common import errors
from api.schemas.drift import Metric

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=errors(401, 422, 503))


@router.get("", response_model=AlertPage, summary="Drift alerts")
async def list_alerts(
    pool: ReaderDep,
    settings: SettingsDep,
    status: Annotated[Literal["open", "resolved"] | None, Query()] = None,
    model_id: ModelIdQuery = None,
    stream: StreamQuery = None,
    metric: Annotated[Metric | None, Query()] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = None,
    after: Cursor = None,
) -> FastJSON:
    """Alerts newest first (by opened_at); the time range applies to opened_at."""
    equals = {"status": status, "model_id": model_id, "stream": stream, "metric": metric}
    w = window(settings, equals, since, until, after, limit)
    rows, nxt = cursor.page(await queries.alerts(pool, w), w.limit, "opened_at")
    return FastJSON({"items": rows, "next_cursor": nxt})


@router.get("/notifications", response_model=NotificationPage, summary="Alertmanager notifications")
async def list_notifications(
    pool: ReaderDep,
    settings: SettingsDep,
    status: Annotated[Literal["firing", "resolved"] | None, Query()] = None,
    model_id: ModelIdQuery = None,
    alertname: Annotated[str | None, Query(max_length=256, pattern=NO_NUL)] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = None,
    after: Cursor = None,
) -> FastJSON:
    """What Alertmanager delivered to the webhook, newest first (by received_at)."""
    equals = {"status": status, "model_id": model_id, "alertname": alertname}
    w = window(settings, equals, since, until, after, limit)
    rows, nxt = cursor.page(await queries.notifications(pool, w), w.limit, "received_at")
    return FastJSON({"items": rows, "next_cursor": nxt})
