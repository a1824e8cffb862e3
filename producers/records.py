"""Inference events as plain dicts, and the JSON records that carry them.

The SDK builds events itself (cheap dicts, no schema library): ``event_id`` a uuid4 hex,
``timestamp`` epoch seconds. A Kafka record value is one event, a JSON array of events or a
columnar record of one model's events (see docs/architecture.md, "Event contract"); the key
is the model id. ``validate=True`` additionally runs
the server's own validation (``drift.events.validate_event``); it is imported only then,
because it needs the server extra (scipy), which a plain SDK install does not have.
"""

from __future__ import annotations

import base64
import math
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import chain
from typing import Any

import numpy as np
import orjson

from producers.errors import InvalidInference

ModelId = int | str
Event = dict[str, Any]
_MODEL_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def model_key(model_id: ModelId) -> str:
    """The model id as it is used for the Kafka key and buffers; rejects invalid ids."""
    if isinstance(model_id, bool) or not isinstance(model_id, int | str):
        raise InvalidInference(f"model_id must be an int or a name, got {type(model_id).__name__}")
    key = str(model_id)
    if not _MODEL_NAME.match(key):
        raise InvalidInference(f"model_id {key!r} must match [A-Za-z0-9._-]{{1,64}}")
    return key


def _timestamp(value: float | datetime | str | None) -> float | str:
    if value is None:
        return time.time()
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        return value  # RFC 3339: the server parses and validates it
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInference(
            f"timestamp must be epoch seconds, a datetime or RFC 3339: {value!r}"
        )
    return float(value)


def build_event(
    model_id: ModelId,
    input_data: Mapping[str, Any],
    prediction: Any,
    confidence: float | None,
    timestamp: float | datetime | str | None = None,
    event_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    embeddings: Mapping[str, Any] | None = None,
) -> Event:
    """One inference event as a plain dict, with the cheap checks that name the bad field.
    ``embeddings``: named vectors (lists or numpy arrays of numbers), e.g. ``{"text": v}``."""
    if not isinstance(input_data, Mapping):
        raise InvalidInference(f"input_data must be a mapping, got {type(input_data).__name__}")
    if event_id is not None and not (isinstance(event_id, str) and 0 < len(event_id) <= 64):
        raise InvalidInference("event_id must be a non-empty string of at most 64 characters")
    event: Event = {
        "event_id": event_id or uuid.uuid4().hex,
        "model_id": model_id,
        "timestamp": _timestamp(timestamp),
        "input_data": input_data,
        "prediction": prediction,
    }
    model_key(model_id)
    if confidence is not None:
        event["confidence"] = confidence
    if metadata:
        event["metadata"] = metadata
    if embeddings:
        if not isinstance(embeddings, Mapping):
            raise InvalidInference(
                f"embeddings must be a mapping of name to vector, got {type(embeddings).__name__}"
            )
        event["embeddings"] = embeddings
    return event


def build_label(
    model_id: ModelId,
    event_id: str,
    label: str | float | bool,
    timestamp: float | datetime | str | None = None,
) -> Event:
    """The ground truth of inference ``event_id`` as the labels topic carries it
    (docs/architecture.md, "Performance"); ``timestamp``: when it was observed (default now)."""
    model_key(model_id)
    if not (isinstance(event_id, str | int) and not isinstance(event_id, bool)) or not (
        0 < len(str(event_id)) <= 64
    ):
        raise InvalidInference("event_id must be the inference's id: 1-64 characters")
    if isinstance(label, int | float) and not isinstance(label, bool):
        if not math.isfinite(label):
            raise InvalidInference(f"label must be finite, got {label!r}")
    elif not isinstance(label, str | bool) or label == "":
        raise InvalidInference(f"label must be a class name, a number or a boolean: {label!r}")
    return {
        "model_id": model_id,
        "event_id": str(event_id),
        "label": label,
        "timestamp": _timestamp(timestamp),
    }


def validate_with_server_schema(event: Event) -> None:
    """Run ``drift.events.validate_event`` on ``event``; InvalidInference on rejection."""
    from drift import events as schema  # lazily: needs the server extra (scipy)

    try:
        schema.validate_event(orjson.loads(encode_event(event)))
    except schema.InvalidEvent as exc:
        raise InvalidInference(str(exc)) from exc


def encode_event(event: Mapping[str, Any]) -> bytes:
    """One event as JSON bytes (numpy scalars and arrays allowed)."""
    try:
        return orjson.dumps(event, option=_JSON_OPTIONS)
    except TypeError as exc:
        raise InvalidInference(f"event is not JSON-serialisable: {exc}") from exc


def snapshot(encoded: bytes) -> Event:
    """The event as JSON read it back: plain values, unaffected by later changes to the
    caller's dicts (columnar records are built from these when the batch is sent)."""
    event: Event = orjson.loads(encoded)
    return event


def join_record(encoded: Sequence[bytes]) -> bytes:
    """A record value: a JSON array of already-encoded events."""
    return b"[" + b",".join(encoded) + b"]"


def encode_record(events: Sequence[Mapping[str, Any]]) -> bytes:
    """A record value for ``events``: always a JSON array, even of one event."""
    try:
        return orjson.dumps(events, option=_JSON_OPTIONS)
    except TypeError as exc:
        raise InvalidInference(f"event is not JSON-serialisable: {exc}") from exc


BINARY_MIN_EVENTS = 16
_SCALAR_NUMERIC = ("timestamp", "confidence", "prediction")
_KEYED = ("input.", "prediction.")
_EXACT_INT = 2**53  # larger integers are not exact as floats: such a column stays JSON


def with_binary_columns(record: dict[str, Any], numbers: bool = True) -> dict[str, Any]:
    """Columnar ``record`` with its embedding columns, and (``numbers``) its columns of
    numbers, as binary columns."""
    columns = {}
    for name, values in record["columns"].items():
        if name.startswith("embedding."):
            columns[name] = binary_vectors(values)
        elif numbers and (name in _SCALAR_NUMERIC or name.startswith(_KEYED)):
            columns[name] = binary_column(values)
        else:
            columns[name] = values
    return {**record, "columns": columns}


def binary_vectors(values: list[Any]) -> Any:
    """An embedding column (per row a vector or null) as ``{"f8": base64, "dim": d}`` (a null
    row: d NaN); as it is when its vectors are not all finite numbers of one length (the
    server then refuses those events by their reason, as for arrays)."""
    present = [v for v in values if v is not None]
    try:
        matrix = np.array(present, dtype="<f8")
    except (TypeError, ValueError):
        return values
    if matrix.ndim != 2 or matrix.shape[1] == 0 or not np.isfinite(matrix).all():
        return values
    if not set(map(type, chain.from_iterable(present))) <= {float, int}:
        return values  # booleans (or numpy scalars) are not taken for numbers here
    out = np.full((len(values), matrix.shape[1]), math.nan, dtype="<f8")
    out[[i for i, v in enumerate(values) if v is not None]] = matrix
    return {"f8": base64.b64encode(out.tobytes()).decode("ascii"), "dim": matrix.shape[1]}


def binary_column(values: list[Any]) -> Any:
    """A column of numbers (or null) as ``{"f8": base64}`` (docs/architecture.md, "Event
    contract": little-endian binary64, NaN = null); any other column as it is. A non-finite
    number becomes null, as orjson writes it in an array column."""
    kinds = set(map(type, values))
    if not kinds <= {float, int, type(None)} or kinds <= {type(None)}:
        return values
    if int in kinds and any(type(v) is int and not -_EXACT_INT < v < _EXACT_INT for v in values):
        return values
    floats = np.array([math.nan if v is None else v for v in values], dtype="<f8")
    floats[~np.isfinite(floats)] = math.nan
    return {"f8": base64.b64encode(floats.tobytes()).decode("ascii")}


def _nested(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple)


def columnar(key: str, events: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The columnar record of one model's events: per field a column, row ``i`` = event ``i``
    (an input or prediction key an event lacks is null in its row). None when the events do
    not fit in columns: nested inputs, or object predictions beside scalar ones."""
    columns: dict[str, list[Any]] = {"timestamp": [e.get("timestamp") for e in events]}
    ids = [e.get("event_id") for e in events]
    if any(i is not None for i in ids):
        columns["event_id"] = ids
    datas = [e["input_data"] for e in events]
    for name in dict.fromkeys(k for d in datas for k in d):
        values = [d.get(name) for d in datas]
        if any(map(_nested, values)):
            return None
        columns[f"input.{name}"] = values
    preds = [e.get("prediction") for e in events]
    objects = [p for p in preds if isinstance(p, Mapping)]
    if len(objects) == len(preds):
        for name in dict.fromkeys(k for p in objects for k in p):
            columns[f"prediction.{name}"] = [p.get(name) for p in objects]
    elif objects:
        return None
    elif any(p is not None for p in preds):
        columns["prediction"] = preds
    for name in ("confidence", "metadata"):
        values = [e.get(name) for e in events]
        if any(v is not None for v in values):
            columns[name] = values
    vectors = [e.get("embeddings") or {} for e in events]
    for name in dict.fromkeys(k for v in vectors for k in v):
        columns[f"embedding.{name}"] = [v.get(name) for v in vectors]
    return {"model_id": key, "columns": columns}


def encode_columnar(key: str, events: Sequence[Mapping[str, Any]], binary: bool = True) -> bytes:
    """A record value for one model's ``events``: columnar, or a JSON array when they do not
    fit in columns (``columnar``); one event: the row event itself. ``binary``: the columns of
    numbers of a record of at least ``BINARY_MIN_EVENTS`` as binary columns, and embedding
    columns binary in any record of two or more (bench_worker --embeddings 384: 100 a record
    23.1k inferences/s binary against 13.2k as arrays; one event: 10.1k as a row event, 6.3k as
    a binary record of one row).

    Why (``bench/bench_processor.py --sizes 1,4,16,64,500 --ids``, the worker's reading of 20
    numeric inputs with event ids): a row event is the cheapest record of one event; binary
    columns are on par or ahead from 16 events a record (docs/architecture.md has the
    figures)."""
    if len(events) == 1:
        return encode_event(events[0])
    vectors = binary and any(e.get("embeddings") for e in events)
    record = columnar(key, events)
    if record is None:
        return encode_record(events)
    if binary and len(events) >= BINARY_MIN_EVENTS:
        record = with_binary_columns(record)
    elif vectors:  # vectors binary in any record: 384 JSON numbers cost more than all else
        record = with_binary_columns(record, numbers=False)
    try:
        return orjson.dumps(record, option=_JSON_OPTIONS)
    except TypeError as exc:
        raise InvalidInference(f"event is not JSON-serialisable: {exc}") from exc
