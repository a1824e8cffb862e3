"""Decoding and validation of inference events (the Kafka value and the HTTP body).

A record is one JSON event object or a JSON array of them. ``decode_record`` never raises:
a whole-record problem gives one error and no events; array items are judged one by one.
``validate_event`` raises :class:`InvalidEvent` and is shared with the HTTP API.
"""

from __future__ import annotations

from typing import Any

import orjson

from drift import fields
from drift.columns import ColumnBatch, flatten_streams, to_columns
from drift.schema import DecodedRecord, EventLimits, InferenceEvent, InvalidEvent, event_to_json

DEFAULT_LIMITS = EventLimits()


def _scalar(value: Any, field: str, limits: EventLimits, reason: str) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int | float):
        try:
            float(value)
        except OverflowError:
            raise InvalidEvent(
                reason, f"{field}: number {str(value)[:40]}... is out of range", field
            ) from None
        return
    if isinstance(value, str):
        if len(value) > limits.max_string_len:
            raise InvalidEvent(
                "string_too_long",
                f"{field}: string of {len(value)} characters exceeds {limits.max_string_len}",
                field,
            )
        return
    raise InvalidEvent(
        reason,
        f"{field}: expected a number, string, boolean, null or object, got {type(value).__name__}",
        field,
    )


def _tree(obj: dict[str, Any], prefix: str, limits: EventLimits, depth: int, reason: str) -> int:
    """Validate a nested object of scalars; returns its number of leaves."""
    if depth > limits.max_depth:
        raise InvalidEvent("too_deep", f"{prefix}: nesting deeper than {limits.max_depth}", prefix)
    leaves = 0
    for key, value in obj.items():
        name = f"{prefix}.{key}"
        if not key or len(name) > limits.max_name_len:
            raise InvalidEvent(
                "bad_feature_name", f"{name:.80}: names must be 1-{limits.max_name_len} long", name
            )
        if isinstance(value, dict):
            leaves += _tree(value, name, limits, depth + 1, reason)
        else:
            _scalar(value, name, limits, reason)
            leaves += 1
    return leaves


def _input_data(obj: dict[str, Any], limits: EventLimits) -> dict[str, Any]:
    value = obj.get("input_data")
    if value is None:
        raise InvalidEvent("missing_input_data", "input_data is required", "input_data")
    if not isinstance(value, dict):
        raise InvalidEvent(
            "bad_input_data",
            f"input_data must be an object, got {type(value).__name__}",
            "input_data",
        )
    if len(value) > limits.max_features:  # cheap guard before walking a huge object
        raise InvalidEvent("too_many_features", _too_many(len(value), limits), "input_data")
    leaves = _tree(value, "input_data", limits, 1, "bad_feature_value")
    if leaves > limits.max_features:
        raise InvalidEvent("too_many_features", _too_many(leaves, limits), "input_data")
    return value


def _too_many(n: int, limits: EventLimits) -> str:
    return f"input_data has {n} features, more than the limit of {limits.max_features}"


def _prediction(obj: dict[str, Any], limits: EventLimits) -> Any:
    value = obj.get("prediction")
    if isinstance(value, dict):
        leaves = _tree(value, "prediction", limits, 1, "bad_prediction")
        if leaves > limits.max_prediction_fields:
            raise InvalidEvent(
                "bad_prediction",
                f"prediction has {leaves} fields, more than {limits.max_prediction_fields}",
                "prediction",
            )
    else:
        _scalar(value, "prediction", limits, "bad_prediction")
    return value


def validate_event(obj: Any, limits: EventLimits = DEFAULT_LIMITS) -> InferenceEvent:
    """Check one decoded event and return its typed form (assigning an event_id if absent)."""
    if not isinstance(obj, dict):
        raise InvalidEvent(
            "not_an_object", f"an event must be a JSON object, got {type(obj).__name__}"
        )
    return InferenceEvent(
        event_id=fields.event_id(obj, limits),
        model_id=fields.model_id(obj),
        timestamp=fields.timestamp(obj, limits),
        input_data=_input_data(obj, limits),
        prediction=_prediction(obj, limits),
        confidence=fields.confidence(obj),
        metadata=fields.metadata(obj),
    )


def _items(items: list[Any], limits: EventLimits) -> DecodedRecord:
    events: list[InferenceEvent] = []
    errors: list[InvalidEvent] = []
    for index, item in enumerate(items):
        try:
            events.append(validate_event(item, limits))
        except InvalidEvent as error:
            errors.append(error.at(index))
    return DecodedRecord(events, errors)


def decode_record(raw: bytes, limits: EventLimits = DEFAULT_LIMITS) -> DecodedRecord:
    """Decode one Kafka record (an event or an array of events); never raises."""
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
        return _items(obj, limits)
    try:
        return DecodedRecord([validate_event(obj, limits)], [])
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
