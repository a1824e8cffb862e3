"""Decoding and validation of inference events (the Kafka value and the HTTP body).

A record is one JSON event object or a JSON array of them. ``decode_record`` never raises:
a whole-record problem gives one error and no events; array items are judged one by one.
``validate_event`` raises :class:`InvalidEvent` and is shared with the HTTP API.
"""

from __future__ import annotations

from typing import Any

import orjson

from drift import features, fields
from drift.columns import ColumnBatch, flatten_streams, to_columns
from drift.schema import DecodedRecord, EventLimits, InferenceEvent, InvalidEvent, event_to_json

DEFAULT_LIMITS = EventLimits()


def validate_event(
    obj: Any, limits: EventLimits = DEFAULT_LIMITS, default_id: str | None = None
) -> InferenceEvent:
    """Check one decoded event and return its typed form; an absent event_id becomes
    ``default_id`` or a random uuid4."""
    if not isinstance(obj, dict):
        raise InvalidEvent(
            "not_an_object", f"an event must be a JSON object, got {type(obj).__name__}"
        )
    return InferenceEvent(
        event_id=fields.event_id(obj, limits, default_id),
        model_id=fields.model_id(obj),
        timestamp=fields.timestamp(obj, limits),
        input_data=features.input_data(obj, limits),
        prediction=features.prediction(obj, limits),
        confidence=fields.confidence(obj),
        metadata=fields.metadata(obj),
    )


def _items(items: list[Any], limits: EventLimits, id_seed: str | None) -> DecodedRecord:
    events: list[InferenceEvent] = []
    errors: list[InvalidEvent] = []
    for index, item in enumerate(items):
        try:
            default = None if id_seed is None else f"{id_seed}.{index}"
            events.append(validate_event(item, limits, default))
        except InvalidEvent as error:
            errors.append(error.at(index))
    return DecodedRecord(events, errors)


def decode_record(
    raw: bytes, limits: EventLimits = DEFAULT_LIMITS, id_seed: str | None = None
) -> DecodedRecord:
    """Decode one Kafka record (an event or an array of events); never raises.

    ``id_seed`` (e.g. ``"<partition>-<offset>"``) makes the ids of events sent without one
    deterministic: ``<seed>`` for a single event, ``<seed>.<index>`` in an array."""
    if len(raw) > limits.max_record_bytes:
        message = f"record of {len(raw)} bytes exceeds the limit of {limits.max_record_bytes}"
        return DecodedRecord([], [InvalidEvent("record_too_large", message)])
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return DecodedRecord([], [InvalidEvent("bad_json", f"invalid JSON: {exc}")])
    if isinstance(obj, list):
        if len(obj) > limits.max_events_per_record:
            message = f"record holds {len(obj)} events, more than {limits.max_events_per_record}"
            return DecodedRecord([], [InvalidEvent("too_many_events", message)])
        return _items(obj, limits, id_seed)
    try:
        return DecodedRecord([validate_event(obj, limits, id_seed)], [])
    except InvalidEvent as error:
        return DecodedRecord([], [error])


__all__ = [
    "ColumnBatch",
    "DecodedRecord",
    "EventLimits",
    "InferenceEvent",
    "InvalidEvent",
    "decode_record",
    "event_to_json",
    "flatten_streams",
    "to_columns",
    "validate_event",
]
