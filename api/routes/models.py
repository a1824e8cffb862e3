"""GET /models, /models/{id}; PUT thresholds; pin/unpin the baseline, its mode and accepted
changes through drift-control."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request

from api import admission, cursor, queries
from api.core.db import Conn
from api.core.errors import NotFound
from api.core.security import key_id, request_key, require_writer
from api.deps import AppContext, CtxDep, ReaderDep, SettingsDep
from api.params import MODEL_ID, Cursor, Limit, ModelIdPath, Since, Until, window
from api.queries import Row
from api.schemas.common import errors
from api.schemas.models import (
    AcceptChange,
    AcceptCommand,
    AcceptedPage,
    AdmissionSlots,
    BaselineCommand,
    BaselineMode,
    BaselineModeCommand,
    Model,
    ModelDetail,
    ModelPage,
    Thresholds,
)
from drift import messages

router = APIRouter(prefix="/models", tags=["models"], responses=errors(401, 422, 503))
WRITER = [Depends(require_writer)]


async def store_and_send(
    ctx: AppContext,
    model_id: str,
    value: bytes,
    store: Callable[[Conn], Awaitable[Row | None]],
) -> Row:
    """Run ``store`` and publish the control command ``value`` in one transaction, so the
    database change commits only after the broker acknowledged it (503 otherwise); 404 when
    ``store`` finds no model."""

    async def work(conn: Conn) -> Row:
        async with conn.transaction():
            row = await store(conn)
            if row is None:
                raise NotFound(f"model {model_id!r} not found")
            await ctx.producer.send(ctx.topics.control, model_id.encode(), value)
        return row

    return await ctx.pools.writer.run(work)


def command(cmd: messages.Command) -> bytes:
    """A drift-control message (docs/architecture.md, "Control topic"): the typed command."""
    return orjson.dumps(cmd)


_BASELINE_COMMANDS: dict[str, type[messages.PinBaseline | messages.UnpinBaseline]] = {
    "pin_baseline": messages.PinBaseline,
    "unpin_baseline": messages.UnpinBaseline,
}


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


@router.get("/admissions", response_model=AdmissionSlots, summary="Model admission slots")
async def admissions(pool: ReaderDep, settings: SettingsDep) -> AdmissionSlots:
    """Active (admitted, not idle) models per API key id, and the slots left (operators)."""
    quota = settings.models_per_key
    keys = [
        {**row, "quota": quota, "free": max(quota - row["admitted"], 0)}
        for row in await admission.slots(pool, settings.model_idle_evict_seconds)
    ]
    total = sum(k["admitted"] for k in keys)
    return AdmissionSlots.model_validate(
        {
            "max_models": settings.max_models,
            "models_per_key": quota,
            "idle_evict_seconds": settings.model_idle_evict_seconds,
            "admitted": total,
            "free": max(settings.max_models - total, 0),
            "keys": keys,
        }
    )


async def admit(request: Request, ctx: AppContext, model_id: str) -> None:
    """429 unless ``model_id`` is (or can be) admitted for the caller's key."""
    caller = key_id(request_key(request))
    refused = await ctx.admissions.admit(ctx.pools.writer, caller, {model_id})
    if refused:
        raise refused[model_id].error()


@router.get("/{model_id}", response_model=ModelDetail, responses=errors(404))
async def get_model(model_id: ModelIdPath, pool: ReaderDep) -> ModelDetail:
    """A model, its thresholds, and the latest drift run of every stream seen."""
    row = await queries.model(pool, model_id)
    if row is None:
        raise NotFound(f"model {model_id!r} not found")
    streams = await queries.drift_latest(pool, model_id)
    return ModelDetail.model_validate({**row, "streams": streams})


@router.put(
    "/{model_id}/thresholds",
    response_model=Model,
    responses=errors(403, 415, 429),
    dependencies=WRITER,
    summary="Replace thresholds",
)
async def put_thresholds(
    model_id: ModelIdPath, body: Thresholds, ctx: CtxDep, request: Request
) -> Model:
    """Store ``{stream or "*": {metric: value}}`` and send ``set_thresholds`` to the worker.

    The database change commits only after the broker acknowledged the command (503 otherwise);
    a model not yet admitted is admitted first (429 when the quota is reached).
    """
    await admit(request, ctx, model_id)
    value = command(messages.SetThresholds(model_id, time.time(), body.root))
    row = await store_and_send(
        ctx, model_id, value, lambda conn: queries.set_thresholds(conn, model_id, body.root)
    )
    return Model.model_validate(row)


async def _baseline(ctx: CtxDep, model_id: str, action: str, mode: str) -> BaselineCommand:
    await store_and_send(
        ctx,
        model_id,
        command(_BASELINE_COMMANDS[action](model_id, time.time())),
        lambda conn: queries.set_baseline_mode(conn, model_id, mode),
    )
    return BaselineCommand(model_id=model_id, action=action)


@router.put(
    "/{model_id}/baseline",
    status_code=202,
    response_model=BaselineCommand,
    responses=errors(403, 404, 429),
    dependencies=WRITER,
    summary="Pin the baseline",
)
async def pin_baseline(model_id: ModelIdPath, ctx: CtxDep, request: Request) -> BaselineCommand:
    """Freeze the current baseline: ``pin_baseline`` goes to the worker owning the model."""
    await admit(request, ctx, model_id)
    return await _baseline(ctx, model_id, "pin_baseline", "pinned")


@router.delete(
    "/{model_id}/baseline",
    status_code=202,
    response_model=BaselineCommand,
    responses=errors(404),
    dependencies=WRITER,
    summary="Unpin the baseline",
)
async def unpin_baseline(model_id: ModelIdPath, ctx: CtxDep) -> BaselineCommand:
    """Back to the rolling baseline: ``unpin_baseline`` goes to the worker."""
    return await _baseline(ctx, model_id, "unpin_baseline", "rolling")


@router.put(
    "/{model_id}/baseline-mode",
    status_code=202,
    response_model=BaselineModeCommand,
    responses=errors(403, 404, 415),
    dependencies=WRITER,
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
    value = command(messages.SetBaselineMode(model_id, time.time(), body.mode))
    row = await store_and_send(
        ctx, model_id, value, lambda conn: queries.set_unpinned_mode(conn, model_id, body.mode)
    )
    return BaselineModeCommand.model_validate(row)


def caller(request: Request) -> str:
    """Who acts when the request names no one: the API key's id (a hash prefix, never the
    key itself), or ``api`` without a key."""
    key = request_key(request)
    return f"key:{key_id(key)}" if key else "api"


@router.post(
    "/{model_id}/accept",
    status_code=202,
    response_model=AcceptCommand,
    responses=errors(403, 404, 415),
    dependencies=WRITER,
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

    async def exists(conn: Conn) -> bool:
        return await queries.model_exists(conn, model_id)

    if not await ctx.pools.writer.run(exists):
        raise NotFound(f"model {model_id!r} not found")
    value = command(messages.AcceptChange(model_id, time.time(), body.stream, by))
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
