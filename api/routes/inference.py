"""POST /inference and /inference/batch: validate, publish to Kafka, answer once acknowledged."""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from api import ingest
from api.admission import QUOTA_CODES
from api.core.errors import ApiError
from api.core.producer import BrokerUnavailable
from api.core.security import key_id, request_key
from api.deps import AppContext
from api.schemas.common import errors
from api.schemas.ingest import Accepted, BatchResult, InferenceEventIn

router = APIRouter(tags=["ingest"])

_EVENT_SCHEMA = InferenceEventIn.model_json_schema()
_BATCH_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "array", "items": _EVENT_SCHEMA},
        {
            "type": "object",
            "required": ["events"],
            "properties": {"events": {"type": "array", "items": _EVENT_SCHEMA}},
        },
        {
            "type": "object",
            "description": "a columnar record: one model's events as columns of equal length "
            "(docs/architecture.md, event contract)",
            "required": ["model_id", "columns"],
            "properties": {
                "model_id": {"type": ["string", "integer"]},
                "columns": {
                    "type": "object",
                    "description": "timestamp, event_id, input.<name>, prediction or "
                    "prediction.<key>, confidence, metadata, embedding.<name>: arrays, row i = "
                    'event i; a column of numbers may be binary: {"f8": base64 of little-endian '
                    "float64 values, NaN = null}",
                    "additionalProperties": {
                        "oneOf": [
                            {"type": "array"},
                            {
                                "type": "object",
                                "required": ["f8"],
                                "additionalProperties": False,
                                "properties": {"f8": {"type": "string", "format": "byte"}},
                            },
                        ]
                    },
                },
                "metadata": {"type": "object", "description": "shared by every event"},
            },
        },
    ]
}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@router.post(
    "/inference",
    status_code=202,
    summary="Log one inference",
    response_model=Accepted,
    responses={
        202: {"description": "Acknowledged by Kafka"},
        **errors(401, 403, 413, 415, 422, 429, 503),
    },
    openapi_extra=_body(_EVENT_SCHEMA),
)
async def post_inference(request: Request) -> Response:
    """Validate the event and answer 202 once the broker acknowledged it (503 if unreachable)."""
    ctx: AppContext = request.app.state.ctx
    raw = await ingest.read_body(request, ctx.settings.max_body_bytes)
    now = time.time()
    try:
        event = ingest.check(ingest.parse_json(raw), ctx.rules, now)
    except ApiError as exc:
        ctx.metrics.rejected.labels(exc.code).inc()
        raise
    caller = key_id(request_key(request))
    refused = await ctx.admissions.admit(ctx.pools.writer, caller, {event.model_id})
    if refused:
        refusal = refused[event.model_id]
        ctx.metrics.rejected.labels(refusal.code).inc()
        raise refusal.error()
    value = ingest.canonical(event, now)
    await ctx.producer.send(ctx.topics.events, event.model_id.encode(), value)
    ctx.metrics.ingested.inc()
    ctx.meter.add(1)
    return _json({"event_id": event.event_id, "status": "accepted"}, 202)


@router.post(
    "/inference/batch",
    status_code=202,
    summary="Log many inferences",
    response_model=BatchResult,
    responses={
        202: {"description": "Every event acknowledged by Kafka"},
        207: {"model": BatchResult, "description": "Some events rejected: see errors"},
        **errors(401, 403, 413, 415, 422, 429, 503),
    },
    openapi_extra=_body(_BATCH_SCHEMA),
)
async def post_batch(request: Request) -> Response:
    """A JSON array, ``{"events": [...]}`` or a columnar record (``{"model_id", "columns"}``,
    row ``i`` = event ``i``): valid events are published, invalid ones reported.

    202 when every event was accepted; 207 when some were rejected (``errors`` lists index and
    reason; ``event_ids`` the accepted ones); 503 when the broker is unreachable.
    """
    ctx: AppContext = request.app.state.ctx
    raw = await ingest.read_body(request, ctx.settings.max_batch_body_bytes)
    items = ingest.batch_items(ingest.parse_json(raw), ctx.settings.max_batch_events)
    valid, problems = ingest.validate_all(items, ctx.rules, time.time())
    caller = key_id(request_key(request))
    refused = await ctx.admissions.admit(ctx.pools.writer, caller, {e.model_id for _, e in valid})
    if refused:
        valid = ingest.refuse(valid, refused, problems)
    for problem in problems:
        ctx.metrics.rejected.labels(problem["reason"]).inc()
    if refused and not valid and all(p["reason"] in QUOTA_CODES for p in problems):
        raise next(iter(refused.values())).error()
    records = ingest.pack(
        valid, ctx.settings.kafka_record_max_bytes, ctx.limits.max_events_per_record
    )
    if records:
        acked = await ctx.producer.send_many(ctx.topics.events, [(k, v) for k, v, _ in records])
        if not any(acked):
            raise BrokerUnavailable("no record of the batch was acknowledged")
        for (_, _, indexes), ok in zip(records, acked, strict=True):
            if not ok:
                problems.extend(ingest.lost(indexes))
    body = ingest.result(valid, problems)
    ctx.metrics.ingested.inc(body["accepted"])
    ctx.meter.add(body["accepted"])
    return _json(body, 207 if problems else 202)
