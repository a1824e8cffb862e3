"""GET /drift/latest and /drift/history: results of the drift evaluations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api import cursor, queries
from api.core.encoding import FastJSON
from api.deps import ReaderDep, SettingsDep
from api.params import Cursor, Limit, ModelIdQuery, Since, StreamQuery, Until, window
from api.schemas.common import errors
from api.schemas.drift import DriftHistory, DriftLatest, RunMetric, Status

router = APIRouter(prefix="/drift", tags=["drift"], responses=errors(401, 422, 503))


@router.get("/latest", response_model=DriftLatest, summary="Latest result per model and stream")
async def latest(pool: ReaderDep, model_id: ModelIdQuery = None) -> FastJSON:
    """The newest drift_runs row of every (model, stream), optionally for one model."""
    rows = await queries.drift_latest(pool, model_id)
    return FastJSON({"items": rows})


@router.get("/history", response_model=DriftHistory, summary="Drift results over time")
async def history(
    pool: ReaderDep,
    settings: SettingsDep,
    model_id: ModelIdQuery = None,
    stream: StreamQuery = None,
    metric: Annotated[
        RunMetric | None,
        Query(description="only runs having this metric; its value as `value`"),
    ] = None,
    status: Annotated[Status | None, Query(description="only runs with this status")] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = None,
    after: Cursor = None,
) -> FastJSON:
    """drift_runs newest first, filtered, in pages (keyset cursor on window_end, id)."""
    w = window(
        settings,
        {"model_id": model_id, "stream": stream, "status": status},
        since,
        until,
        after,
        limit,
    )
    rows, nxt = cursor.page(await queries.drift_history(pool, w, metric), w.limit, "window_end")
    return FastJSON({"items": rows, "next_cursor": nxt})
