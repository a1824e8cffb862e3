"""Decoding and validation of inference events (the Kafka value and the HTTP body).

A record is one JSON event object, a JSON array of them, or a columnar record
(``drift.columnar``: one model's events as columns; item ``i`` is row ``i``). ``decode_record``
never raises: a whole-record problem gives one error and no events; items are judged one by one.
``validate_event`` raises :class:`InvalidEvent` and is shared with the HTTP API.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from drift import columnar, embeddings, features, fields
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
        metadata=fields.metadata(obj, limits.max_metadata_depth),
        embeddings=embeddings.embeddings(obj, limits),
    )


_BIG = features.FLOAT_INT_LIMIT


def _leaves_ok(obj: dict[str, Any], longest: int, limits: EventLimits) -> bool:
    """A flat object of plain scalars under valid names (the common case)."""
    for key, value in obj.items():
        kind = type(value)
        if not (
            kind is float
            or (kind is str and len(value) <= limits.max_string_len)
            or value is None
            or kind is bool
            or (kind is int and -_BIG < value < _BIG)
        ):
            return False
        if type(key) is not str or not 0 < len(key) <= longest:
            return False
    return True


def _fast_event(
    obj: Any, limits: EventLimits, default_id: str | None, names: set[str] | None = None
) -> InferenceEvent | None:
    """The common event checked in one function body (the worker's hot path). None means
    "not the common case": ``validate_event`` then decides. Everything this accepts,
    ``validate_event`` accepts with the same result (tests compare the two). ``names`` holds
    model ids already checked in this record (one regex match per model, not per event)."""
    if type(obj) is not dict or obj.get("embeddings") is not None:
        return None
    model, ts, data = obj.get("model_id"), obj.get("timestamp"), obj.get("input_data")
    if type(model) is not str:
        return None
    if names is None or model not in names:
        if not fields.is_model_name(model):
            return None
        if names is not None:
            names.add(model)
    if ts is not None and not (
        (type(ts) is float or type(ts) is int) and 0 <= ts <= limits.max_timestamp
    ):
        return None
    if type(data) is not dict or not data or len(data) > limits.max_features:
        return None
    if not _leaves_ok(data, limits.max_name_len - len("input_data."), limits):
        return None
    pred, conf = obj.get("prediction"), obj.get("confidence")
    if type(pred) is dict:
        if len(pred) > limits.max_prediction_fields or not _leaves_ok(
            pred, limits.max_name_len - len("prediction."), limits
        ):
            return None
    elif not (
        pred is None
        or type(pred) is float
        or (type(pred) is str and len(pred) <= limits.max_string_len)
    ):
        return None
    if conf is not None and not ((type(conf) is float or type(conf) is int) and 0 <= conf <= 1):
        return None
    event_id, meta = obj.get("event_id"), obj.get("metadata")
    if event_id is None:
        event_id = default_id if default_id is not None else uuid.uuid4().hex
    elif type(event_id) is not str or not 0 < len(event_id) <= limits.max_id_len:
        return None
    if meta is None:
        meta = {}
    elif type(meta) is not dict or any(type(v) is dict or type(v) is list for v in meta.values()):
        return None  # nested metadata: ``validate_event`` bounds its depth
    return InferenceEvent(
        event_id,
        model,
        None if ts is None else float(ts),
        data,
        pred,
        None if conf is None else float(conf),
        meta,
    )


NUL_ESCAPE = b"\\u0000"  # how JSON writes U+0000 (a raw NUL byte is invalid JSON)


def may_hold_nul(raw: bytes) -> bool:
    """Whether ``raw`` may hold an escaped NUL (``NUL_ESCAPE``). A backslash is looked for
    first: a one-byte search is a memchr, while the six-byte one crawls through base64 text
    (~80 us in a 110 kB record of binary columns, ~1 us for the backslash)."""
    return b"\\" in raw and NUL_ESCAPE in raw


def _items(
    items: list[Any], limits: EventLimits, id_seed: str | None, fast_ok: bool
) -> DecodedRecord:
    events: list[InferenceEvent] = []
    errors: list[InvalidEvent] = []
    names: set[str] = set()
    for index, item in enumerate(items):
        default = None if id_seed is None else f"{id_seed}.{index}"
        fast = _fast_event(item, limits, default, names) if fast_ok else None
        if fast is not None:
            events.append(fast)
            continue
        try:
            events.append(validate_event(item, limits, default))
        except InvalidEvent as error:
            errors.append(error.at(index))
    return DecodedRecord(events, errors)


def decode_record(
    raw: bytes, limits: EventLimits = DEFAULT_LIMITS, id_seed: str | None = None
) -> DecodedRecord:
    """Decode one Kafka record (an event or an array of events); never raises.

    ``id_seed`` (e.g. ``"<partition>-<offset>"``) makes the ids of events sent without one
    deterministic: ``<seed>`` for a single event, ``<seed>.<index>`` in an array.
    A record that may hold a NUL character skips the fast path: only full validation looks
    for NULs (PostgreSQL cannot store them), and the bytes tell at memchr speed.

    Totality: the size is checked before parsing, orjson stops at 1,024 levels (``too_deep``),
    and every walk of nested values below is bounded by ``EventLimits`` depths before it
    descends (input_data, prediction) or iterative (metadata). A RecursionError is still turned
    into ``too_deep`` as a last guard, so no record can raise out of here."""
    if len(raw) > limits.max_record_bytes:
        message = f"record of {len(raw)} bytes exceeds the limit of {limits.max_record_bytes}"
        return DecodedRecord([], [InvalidEvent("record_too_large", message)])
    try:
        return _decode(raw, limits, id_seed)
    except RecursionError:
        return DecodedRecord([], [InvalidEvent("too_deep", "record nested too deep to decode")])


def _decode(raw: bytes, limits: EventLimits, id_seed: str | None) -> DecodedRecord:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):
            return DecodedRecord([], [InvalidEvent("too_deep", f"nested too deep: {exc}")])
        return DecodedRecord([], [InvalidEvent("bad_json", f"invalid JSON: {exc}")])
    if columnar.is_columnar(obj):
        try:
            rows = columnar.to_rows(obj, limits)
        except InvalidEvent as error:
            return DecodedRecord([], [error])
        return _items(rows, limits, id_seed, not may_hold_nul(raw))
    if isinstance(obj, list):
        if len(obj) > limits.max_events_per_record:
            message = f"record holds {len(obj)} events, more than {limits.max_events_per_record}"
            return DecodedRecord([], [InvalidEvent("too_many_events", message)])
        return _items(obj, limits, id_seed, not may_hold_nul(raw))
    fast = _fast_event(obj, limits, id_seed) if not may_hold_nul(raw) else None
    if fast is not None:
        return DecodedRecord([fast], [])
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
