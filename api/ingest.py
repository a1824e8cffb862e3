"""The ingest shim's plumbing: bounded body reading, validation, packing events into records.

A single event becomes one record (value = the canonical event). A batch (an array of events or a
columnar record, judged row by row) is grouped by model and
packed into JSON-array records of at most ``record_max_bytes`` (the event contract allows a
record to carry an array), so one produce carries hundreds of inferences.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request

from api.admission import Refusal
from api.core.errors import ApiError, BodyTooLarge
from api.rules import EventRules
from drift import columnar
from drift.events import EventLimits, InferenceEvent, InvalidEvent, event_to_json


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """Decoded JSON, or 422 naming the body."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):
            raise ApiError(422, "too_deep", f"body nests too deep to parse: {exc}", "body") from exc
        raise ApiError(422, "invalid_json", f"body is not valid JSON: {exc}", "body") from exc


def canonical(event: InferenceEvent, now: float) -> bytes:
    """The Kafka value of ``event``; an absent timestamp becomes the ingest time."""
    body = event_to_json(event)
    if body["timestamp"] is None:
        body["timestamp"] = now
    return orjson.dumps(body)


def check(obj: Any, rules: EventRules, now: float) -> InferenceEvent:
    """The event rules (validation, depth, event time), answering 422 with the field named."""
    try:
        return rules.check(obj, now)
    except InvalidEvent as exc:
        raise ApiError(422, exc.reason, str(exc), exc.field) from exc


_ANY_LENGTH = EventLimits(max_events_per_record=2**62)  # the batch's own bound follows


def batch_items(obj: Any, max_events: int) -> list[Any]:
    """The events of a batch body: a JSON array, ``{"events": [...]}`` or a columnar record
    (``drift.columnar``: its rows, validated one by one like array items)."""
    if columnar.is_columnar(obj):
        try:
            obj = columnar.to_rows(obj, _ANY_LENGTH)
        except InvalidEvent as exc:
            raise ApiError(422, exc.reason, str(exc), exc.field or "columns") from exc
    items = obj.get("events") if isinstance(obj, dict) else obj
    if not isinstance(items, list):
        raise ApiError(
            422,
            "invalid_batch",
            "body must be a JSON array or an object with an events array",
            "events",
        )
    if not items:
        raise ApiError(422, "empty_batch", "events: the batch holds no event", "events")
    if len(items) > max_events:
        raise ApiError(
            413, "too_many_events", f"events: {len(items)} events exceed {max_events}", "events"
        )
    return items


def pack(
    events: list[tuple[int, InferenceEvent]], record_max_bytes: int, record_max_events: int
) -> list[tuple[bytes, bytes, list[int]]]:
    """Records ``(key, value, batch indexes)``: per model, JSON arrays within both limits."""
    now = time.time()
    by_model: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for index, event in events:
        body = event_to_json(event)
        if body["timestamp"] is None:
            body["timestamp"] = now
        by_model[event.model_id].append((index, body))
    records: list[tuple[bytes, bytes, list[int]]] = []
    for model_id, items in by_model.items():
        for start in range(0, len(items), record_max_events):
            _split(
                model_id.encode(),
                items[start : start + record_max_events],
                record_max_bytes,
                records,
            )
    return records


def _split(
    key: bytes,
    items: list[tuple[int, dict[str, Any]]],
    max_bytes: int,
    out: list[tuple[bytes, bytes, list[int]]],
) -> None:
    """One array record of ``items``, halved until it fits ``max_bytes`` (one event may not)."""
    value = orjson.dumps([body for _, body in items])
    if len(value) <= max_bytes or len(items) == 1:
        out.append((key, value, [index for index, _ in items]))
        return
    half = len(items) // 2
    _split(key, items[:half], max_bytes, out)
    _split(key, items[half:], max_bytes, out)


def validate_all(
    items: list[Any], rules: EventRules, now: float
) -> tuple[list[tuple[int, InferenceEvent]], list[dict[str, Any]]]:
    """The valid events with their batch index, and one error entry per invalid item."""
    valid: list[tuple[int, InferenceEvent]] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            valid.append((index, rules.check(item, now)))
        except InvalidEvent as exc:
            problems.append(
                {"index": index, "reason": exc.reason, "message": str(exc), "field": exc.field}
            )
    return valid, problems


def refuse(
    valid: list[tuple[int, InferenceEvent]],
    refused: Mapping[str, Refusal],
    problems: list[dict[str, Any]],
) -> list[tuple[int, InferenceEvent]]:
    """The valid events whose model was admitted; the others join ``problems``."""
    kept: list[tuple[int, InferenceEvent]] = []
    for index, event in valid:
        refusal = refused.get(event.model_id)
        if refusal is None:
            kept.append((index, event))
        else:
            problems.append(
                {
                    "index": index,
                    "reason": refusal.code,
                    "message": refusal.message,
                    "field": "model_id",
                }
            )
    return kept


def lost(indexes: list[int]) -> list[dict[str, Any]]:
    """Error entries for events whose record the broker did not acknowledge."""
    message = "Kafka did not acknowledge this event; send it again"
    return [{"index": i, "reason": "broker_unavailable", "message": message} for i in indexes]


def result(
    valid: list[tuple[int, InferenceEvent]], problems: list[dict[str, Any]]
) -> dict[str, Any]:
    """The batch answer: accepted ids in batch order, errors sorted by index."""
    failed = {p["index"] for p in problems}
    ids = [event.event_id for index, event in valid if index not in failed]
    problems.sort(key=lambda p: p["index"])
    return {"accepted": len(ids), "rejected": len(problems), "event_ids": ids, "errors": problems}
