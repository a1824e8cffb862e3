"""GET /models, /models/{id}; PUT thresholds; pin/unpin the baseline, its mode and accepted
changes through drift-control."""

from __future__ import annotations

import hashlib
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request

from api import cursor, queries
from api.core.errors import NotFound
from api.deps import CtxDep, ReaderDep, SettingsDep
from api.params import MODEL_ID, Cursor, Limit, ModelIdPath, Since, Until, window
from api.schemas.common import errors
from api.schemas.models import (
    AcceptChange,
    AcceptCommand,
    AcceptedPage,
    BaselineCommand,
    BaselineMode,
    BaselineModeCommand,
    Model,
    ModelDetail,
    ModelPage,
    Thresholds,
)

router = APIRouter(prefix="/models", tags=["models"], responses=errors(401, 422, 503))


def command(action: str, model_id: str, **extra: Any) -> bytes:
    """A drift-control command (docs/architecture.md, "Control topic")."""
    return orjson.dumps(
        {"action": action, "model_id": model_id, "requested_at": time.time(), **extra}
    )


@router.get("", response_model=ModelPage, summary="Registered models")
async def list_models(
    pool: ReaderDep,
    settings: SettingsDep,
    limit: Limit = None,
    after: Annotated[
        str | None, Query(alias="cursor", pattern=MODEL_ID, description="next_cursor")
    ] = None,
) -> ModelPage:
    """Models ordered by id, in pages (the cursor is the last id of the previous page)."""
    size = min(limit or settings.page_limit_default, settings.page_limit_max)
    rows = await queries.models(pool, after, size)
    nxt = rows[size - 1]["model_id"] if len(rows) > size else None
    return ModelPage.model_validate({"items": rows[:size], "next_cursor": nxt})


@router.get("/{model_id}", response_model=ModelDetail, responses=errors(404))
async def get_model(model_id: ModelIdPath, pool: ReaderDep) -> ModelDetail:
    """A model, its thresholds, and the latest drift run of every stream seen."""
    row = await queries.model(pool, model_id)
    if row is None:
        raise NotFound(f"model {model_id!r} not found")
    streams = await queries.drift_latest(pool, model_id)
    return ModelDetail.model_validate({**row, "streams": streams})


@router.put("/{model_id}/thresholds", response_model=Model, summary="Replace thresholds")
async def put_thresholds(model_id: ModelIdPath, body: Thresholds, ctx: CtxDep) -> Model:
    """Store ``{stream or "*": {metric: value}}`` and send ``set_thresholds`` to the worker.

    The database change commits only after the broker acknowledged the command (503 otherwise).
    """
    async with ctx.pools.writer.connection() as conn, conn.transaction():
        row = await queries.set_thresholds(conn, model_id, body.root)
        value = command("set_thresholds", model_id, thresholds=body.root)
        await ctx.producer.send(ctx.topics.control, model_id.encode(), value)
    return Model.model_validate(row)


async def _baseline(ctx: CtxDep, model_id: str, action: str, mode: str) -> BaselineCommand:
    async with ctx.pools.writer.connection() as conn, conn.transaction():
        if await queries.set_baseline_mode(conn, model_id, mode) is None:
            raise NotFound(f"model {model_id!r} not found")
        await ctx.producer.send(ctx.topics.control, model_id.encode(), command(action, model_id))
    return BaselineCommand(model_id=model_id, action=action)


@router.put(
    "/{model_id}/baseline",
    status_code=202,
    response_model=BaselineCommand,
    responses=errors(404),
    summary="Pin the baseline",
)
async def pin_baseline(model_id: ModelIdPath, ctx: CtxDep) -> BaselineCommand:
    """Freeze the current baseline: ``pin_baseline`` goes to the worker owning the model."""
    return await _baseline(ctx, model_id, "pin_baseline", "pinned")


@router.delete(
    "/{model_id}/baseline",
    status_code=202,
    response_model=BaselineCommand,
    responses=errors(404),
    summary="Unpin the baseline",
)
async def unpin_baseline(model_id: ModelIdPath, ctx: CtxDep) -> BaselineCommand:
    """Back to the rolling baseline: ``unpin_baseline`` goes to the worker."""
    return await _baseline(ctx, model_id, "unpin_baseline", "rolling")


@router.put(
    "/{model_id}/baseline-mode",
    status_code=202,
    response_model=BaselineModeCommand,
    responses=errors(404),
    summary="Rolling or seasonal baseline",
)
async def put_baseline_mode(
    model_id: ModelIdPath, body: BaselineMode, ctx: CtxDep
) -> BaselineModeCommand:
    """Judge the model against the span before the recent window (``rolling``) or against the
    same time of day on previous days (``seasonal``): stored as the model's unpinned mode and
    sent as ``set_baseline_mode``; a pinned baseline stays in force until unpinned.

    The database change commits only after the broker acknowledged the command (503 otherwise).
    """
    async with ctx.pools.writer.connection() as conn, conn.transaction():
        row = await queries.set_unpinned_mode(conn, model_id, body.mode)
        if row is None:
            raise NotFound(f"model {model_id!r} not found")
        value = command("set_baseline_mode", model_id, mode=body.mode)
        await ctx.producer.send(ctx.topics.control, model_id.encode(), value)
    return BaselineModeCommand.model_validate(row)


def caller(request: Request) -> str:
    """Who acts when the request names no one: the API key's name (a hash prefix, never the
    key itself), or ``api`` without a key."""
    key = request.headers.get("x-api-key")
    return f"key:{hashlib.sha256(key.encode()).hexdigest()[:16]}" if key else "api"


@router.post(
    "/{model_id}/accept",
    status_code=202,
    response_model=AcceptCommand,
    responses=errors(404),
    summary="Accept a change as the new normal",
)
async def accept_change(
    model_id: ModelIdPath, body: AcceptChange, ctx: CtxDep, request: Request
) -> AcceptCommand:
    """A stream in drift is judged against its baseline as it was when its alert opened (a
    frozen baseline), so a lasting change keeps alerting. Accepting it sends ``accept_change``:
    the worker drops the frozen baseline of ``stream`` (or of every stream when null), records
    who accepted it (``GET /models/{id}/accepted``) and judges against the rolling baseline,
    which holds the changed data, again. 202 once the broker acknowledged the command.
    """
    by = body.by or caller(request)
    async with ctx.pools.writer.connection() as conn:
        if not await queries.model_exists(conn, model_id):
            raise NotFound(f"model {model_id!r} not found")
    value = command("accept_change", model_id, stream=body.stream, by=by)
    await ctx.producer.send(ctx.topics.control, model_id.encode(), value)
    return AcceptCommand(model_id=model_id, stream=body.stream, by=by)


@router.get(
    "/{model_id}/accepted",
    response_model=AcceptedPage,
    summary="Changes accepted as the new normal",
)
async def accepted(
    model_id: ModelIdPath,
    pool: ReaderDep,
    settings: SettingsDep,
    since: Since = None,
    until: Until = None,
    limit: Limit = None,
    after: Cursor = None,
) -> AcceptedPage:
    """The model's accepted changes as the worker applied them, newest first, in pages."""
    w = window(settings, {"model_id": model_id}, since, until, after, limit)
    rows, nxt = cursor.page(await queries.accepted_changes(pool, w), w.limit, "accepted_at")
    return AcceptedPage.model_validate({"items": rows, "next_cursor": nxt})
