"""POST /labels and /labels/batch: ground truth for logged inferences (issue 15).

Validated (``drift.labels``), published to the labels topic keyed by model id, answered 202
once the broker acknowledged them (503 when it cannot be reached), exactly as inferences. The
join to the inference happens where the labels are stored (docs/architecture.md,
"Performance"): a label for an unknown event or one later than the horizon is refused there,
with its reason on the labels DLQ.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api import ingest
from api.core.errors import ApiError
from api.core.producer import BrokerUnavailable
from api.core.security import key_id, request_key
from api.deps import AppContext
from api.schemas.common import errors
from drift.labels import LabelEvent, label_to_json, validate_label
from drift.schema import InvalidEvent

router = APIRouter(tags=["labels"])


class LabelIn(BaseModel):
    """A ground-truth label for a logged inference."""

    model_id: int | str = Field(description="the inference's model")
    event_id: int | str = Field(description="the inference's event_id")
    label: str | float | bool = Field(description="the true class, value or outcome")
    timestamp: str | float | None = Field(
        default=None, description="when the label was observed (default: now)"
    )


class LabelsAccepted(BaseModel):
    accepted: int
    rejected: int
    errors: list[dict[str, Any]] = Field(description="index, reason, message, field per refusal")


_LABEL_SCHEMA = LabelIn.model_json_schema()
_BATCH_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "array", "items": _LABEL_SCHEMA},
        {
            "type": "object",
            "required": ["labels"],
            "properties": {"labels": {"type": "array", "items": _LABEL_SCHEMA}},
        },
    ]
}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _check(obj: Any, ctx: AppContext) -> LabelEvent:
    try:
        return validate_label(obj, ctx.limits)
    except InvalidEvent as exc:
        ctx.metrics.rejected_labels.labels(exc.reason).inc()
        raise ApiError(422, exc.reason, str(exc), exc.field) from exc


async def _admitted(request: Request, ctx: AppContext, models: set[str]) -> dict[str, Any]:
    refused = await ctx.admissions.admit(ctx.pools.writer, key_id(request_key(request)), models)
    for refusal in refused.values():
        ctx.metrics.rejected_labels.labels(refusal.code).inc()
    return refused


@router.post(
    "/labels",
    status_code=202,
    summary="Log the ground truth of one inference",
    response_model=LabelsAccepted,
    responses={
        202: {"description": "Acknowledged by Kafka"},
        **errors(401, 403, 413, 415, 422, 429, 503),
    },
    openapi_extra=_body(_LABEL_SCHEMA),
)
async def post_label(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    raw = await ingest.read_body(request, ctx.settings.max_body_bytes)
    label = _check(ingest.parse_json(raw), ctx)
    refused = await _admitted(request, ctx, {label.model_id})
    if refused:
        raise refused[label.model_id].error()
    value = orjson.dumps(label_to_json(label, time.time()))
    await ctx.producer.send(ctx.topics.labels, label.model_id.encode(), value)
    ctx.metrics.labels.inc()
    return _json({"accepted": 1, "rejected": 0, "errors": []}, 202)


@router.post(
    "/labels/batch",
    status_code=202,
    summary="Log the ground truth of many inferences",
    response_model=LabelsAccepted,
    responses={
        202: {"description": "Every label acknowledged by Kafka"},
        207: {"model": LabelsAccepted, "description": "Some labels refused: see errors"},
        **errors(401, 403, 413, 415, 422, 429, 503),
    },
    openapi_extra=_body(_BATCH_SCHEMA),
)
async def post_labels(request: Request) -> Response:
    """A JSON array or ``{"labels": [...]}``; 202 when all were accepted, 207 with ``errors``
    (index, reason, message, field) when some were refused."""
    ctx: AppContext = request.app.state.ctx
    raw = await ingest.read_body(request, ctx.settings.max_batch_body_bytes)
    obj = ingest.parse_json(raw)
    items = obj.get("labels") if isinstance(obj, dict) else obj
    if not isinstance(items, list) or not items:
        raise ApiError(
            422, "invalid_batch", "body must be a non-empty JSON array or {labels: [...]}", "labels"
        )
    if len(items) > ctx.settings.max_batch_events:
        raise ApiError(
            413,
            "too_many_labels",
            f"labels: {len(items)} exceed {ctx.settings.max_batch_events}",
            "labels",
        )
    valid: list[tuple[int, LabelEvent]] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            valid.append((index, validate_label(item, ctx.limits)))
        except InvalidEvent as exc:
            ctx.metrics.rejected_labels.labels(exc.reason).inc()
            problems.append(
                {"index": index, "reason": exc.reason, "message": str(exc), "field": exc.field}
            )
    refused = await _admitted(request, ctx, {lab.model_id for _, lab in valid})
    kept = []
    for index, lab in valid:
        if lab.model_id in refused:
            r = refused[lab.model_id]
            problems.append(
                {"index": index, "reason": r.code, "message": r.message, "field": "model_id"}
            )
        else:
            kept.append((index, lab))
    now = time.time()
    records = [(lab.model_id.encode(), orjson.dumps(label_to_json(lab, now))) for _, lab in kept]
    if records:
        acked = await ctx.producer.send_many(ctx.topics.labels, records)
        if not any(acked):
            raise BrokerUnavailable("no label of the batch was acknowledged")
        for (index, _), ok in zip(kept, acked, strict=True):
            if not ok:
                problems.extend(ingest.lost([index]))
    problems.sort(key=lambda p: p["index"])
    accepted = len(kept) - sum(1 for p in problems if p["reason"] == "broker_unavailable")
    ctx.metrics.labels.inc(accepted)
    body = {"accepted": accepted, "rejected": len(problems), "errors": problems}
    return _json(body, 207 if problems else 202)
