"""The columnar record: one model's events as columns of values (docs/architecture.md).

``{"model_id": "m", "columns": {"timestamp": [...], "event_id": [...], "input.x": [...],
"prediction": [...], "confidence": [...], "metadata": [...]}, "metadata": {...}}``: row ``i``
of every column is event ``i``; ``prediction.<key>`` columns replace ``prediction`` for object
predictions; the record's ``metadata`` is shared by every event (an event's own ``metadata``
entry adds to it). Three readings:

* ``decode_columns``: the worker's fast path, straight to numpy columns (orjson, then one
  ``np.asarray`` per column after a check of its value types). None means "not the plain case"
  (any invalid value, booleans, RFC 3339 times, nested metadata): the general path decides.
* ``to_rows``: the events as row dicts, which ``validate_event`` judges one by one: the
  general path (``decode_record``), the API and the inference-log sink. Its reasons and
  indexes (``[i]`` = row ``i``) are those of an array record of the same events.
* ``subset``: a columnar record of only some rows (the DLQ copy of a partly valid record).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from drift import fields
from drift.columns import ColumnBatch
from drift.schema import EventLimits, InvalidEvent

INPUT, PREDICTION = "input.", "prediction."
_SCALARS = ("timestamp", "event_id", "confidence", "prediction", "metadata")
_BIG = 2**53  # = features.FLOAT_INT_LIMIT: larger integers are not exact as floats
_FLOATS = frozenset({float, type(None)})
_NUMBERS = frozenset({float, int, type(None)})
_TEXT = frozenset({str, type(None)})


def is_columnar(obj: Any) -> bool:
    return type(obj) is dict and "columns" in obj


def looks_columnar(raw: bytes) -> bool:
    """A cheap pre-check on the bytes (an object record naming ``columns``)."""
    return raw[:1] == b"{" and b'"columns"' in raw


@dataclass(frozen=True, slots=True)
class ColumnarRecord:
    """A valid columnar record decoded for its streams: ``batch.timestamps`` NaN where the
    event had none; ``event_ids`` None when the record has no event_id column."""

    model_id: str
    batch: ColumnBatch
    event_ids: list[str | None] | None

    def __len__(self) -> int:
        return len(self.batch.timestamps)


def _shape(obj: dict[str, Any], limits: EventLimits) -> tuple[dict[str, list[Any]], int]:
    """The columns and their common length; InvalidEvent (whole record) when malformed."""
    columns = obj["columns"]
    if type(columns) is not dict or not columns:
        raise InvalidEvent("bad_columns", "columns must be a non-empty object", "columns")
    lengths = set()
    for name, values in columns.items():
        if type(values) is not list:
            raise InvalidEvent("bad_columns", f"column {name!r:.80} is not an array", "columns")
        if name not in _SCALARS and not name.startswith((INPUT, PREDICTION)):
            message = (
                f"unknown column {name!r:.80}: expected input.<name>, prediction[.<key>], "
                "timestamp, event_id, confidence or metadata"
            )
            raise InvalidEvent("bad_columns", message, "columns")
        lengths.add(len(values))
    if len(lengths) != 1:
        message = f"columns differ in length ({', '.join(map(str, sorted(lengths)))})"
        raise InvalidEvent("bad_columns", message, "columns")
    n = lengths.pop()
    if n > limits.max_events_per_record:
        message = f"record holds {n} events, more than {limits.max_events_per_record}"
        raise InvalidEvent("too_many_events", message)
    if not any(name.startswith(INPUT) for name in columns):
        raise InvalidEvent("bad_columns", "columns hold no input.<name> column", "columns")
    if "prediction" in columns and any(name.startswith(PREDICTION) for name in columns):
        message = "columns hold both prediction and prediction.<key>"
        raise InvalidEvent("bad_columns", message, "columns")
    return columns, n


def to_rows(obj: dict[str, Any], limits: EventLimits) -> list[dict[str, Any]]:
    """The events of columnar record ``obj`` as row dicts (a null value: the field is null);
    InvalidEvent for a problem of the whole record (its structure, its model_id)."""
    columns, n = _shape(obj, limits)
    model = obj.get("model_id")
    fields.model_id(obj)  # the record's model id: refused once for the whole record
    shared = obj.get("metadata")
    if shared is not None and type(shared) is not dict:
        raise InvalidEvent("bad_metadata", "metadata must be an object", "metadata")
    inputs = [(name[len(INPUT) :], v) for name, v in columns.items() if name.startswith(INPUT)]
    keyed = [(k[len(PREDICTION) :], v) for k, v in columns.items() if k.startswith(PREDICTION)]
    scalars = [(name, columns[name]) for name in _SCALARS[:4] if name in columns]
    own = columns.get("metadata")
    rows = []
    for i in range(n):
        row: dict[str, Any] = {"model_id": model, "input_data": {k: v[i] for k, v in inputs}}
        for name, values in scalars:
            row[name] = values[i]
        if keyed:
            row["prediction"] = {k: v[i] for k, v in keyed}
        meta = own[i] if own is not None else None
        if shared is not None:
            meta = {**shared, **meta} if type(meta) is dict else (shared if meta is None else meta)
        if meta is not None:
            row["metadata"] = meta
        rows.append(row)
    return rows


def subset(raw: bytes, rows: list[int]) -> bytes | None:
    """Columnar record ``raw`` with only ``rows`` (None when that cannot be had)."""
    try:
        obj = orjson.loads(raw)
        columns = obj["columns"]
        if len(rows) == len(next(iter(columns.values()))):
            return None
        obj["columns"] = {name: [values[i] for i in rows] for name, values in columns.items()}
        return orjson.dumps(obj)
    except (orjson.JSONDecodeError, TypeError, KeyError, IndexError, AttributeError):
        return None


def _numeric(values: list[Any], low: float, high: float) -> np.ndarray | None:
    """Floats (NaN for null) when every value is a number in [low, high] or null."""
    types = set(map(type, values))
    if not types <= _NUMBERS:
        return None
    column = np.asarray(values, dtype=np.float64)
    if types == {type(None)}:
        return column
    seen = column[~np.isnan(column)]
    if int in types and len(seen) and np.abs(seen).max() >= _BIG:
        return None
    if len(seen) and (seen.min() < low or seen.max() > high):
        return None
    return column


def _text(values: list[Any], shortest: int, longest: int) -> bool:
    if not set(map(type, values)) <= _TEXT:
        return False
    lengths = [len(v) for v in values if v is not None]
    return not lengths or (shortest <= min(lengths) and max(lengths) <= longest)


def _stream(name: str, values: list[Any], limits: EventLimits, batch: ColumnBatch) -> bool:
    """Store one stream column by its values' kind; False when not the plain case."""
    column = _numeric(values, -np.inf, np.inf)
    if column is not None:
        batch.numeric[name] = column
        return True
    if _text(values, 0, limits.max_string_len):
        batch.categorical[name] = values
        return True
    return False


def _flat_metadata(obj: dict[str, Any], columns: dict[str, list[Any]]) -> bool:
    shared = obj.get("metadata")
    if shared is not None and (type(shared) is not dict or not _flat(shared)):
        return False
    own = columns.get("metadata")
    return own is None or all(m is None or (type(m) is dict and _flat(m)) for m in own)


def _flat(obj: dict[str, Any]) -> bool:
    return not any(type(v) is dict or type(v) is list for v in obj.values())


def decode_columns(raw: bytes, limits: EventLimits) -> ColumnarRecord | None:
    """The plain valid columnar record straight to numpy columns; None for anything else
    (not columnar, or some value the general path must judge). Accepts exactly what
    ``to_rows`` + ``validate_event`` accept with the same stream values (tests compare)."""
    if len(raw) > limits.max_record_bytes or b"\\u0000" in raw:
        return None
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not is_columnar(obj) or len(obj) > 3:
        return None
    model = obj.get("model_id")
    if type(model) is not str or not fields.is_model_name(model):
        return None
    try:
        columns, n = _shape(obj, limits)
    except InvalidEvent:
        return None
    if n == 0 or not _flat_metadata(obj, columns):
        return None
    times = columns.get("timestamp")
    ts = np.full(n, np.nan) if times is None else _numeric(times, 0, limits.max_timestamp)
    ids = columns.get("event_id")
    if ts is None or (ids is not None and not _text(ids, 1, limits.max_id_len)):
        return None
    batch = ColumnBatch(ts)
    if not _streams(columns, limits, batch):
        return None
    return ColumnarRecord(model, batch, ids)


def _streams(columns: dict[str, list[Any]], limits: EventLimits, batch: ColumnBatch) -> bool:
    inputs = [k for k in columns if k.startswith(INPUT)]
    keys = [k for k in columns if k.startswith(PREDICTION)]
    longest = limits.max_name_len - len("input_data.")
    if len(inputs) > limits.max_features or len(keys) > limits.max_prediction_fields:
        return False
    if not all(0 < len(k) - len(INPUT) <= longest for k in inputs):
        return False
    longest = limits.max_name_len - len(PREDICTION)
    if not all(0 < len(k) - len(PREDICTION) <= longest for k in keys):
        return False
    bare = columns.get("prediction")
    named = inputs + keys + ([] if bare is None or all(v is None for v in bare) else ["prediction"])
    for name in named:  # a bare prediction only ever null is no stream (as in rows)
        if not _stream(name, columns[name], limits, batch):
            return False
    confidence = columns.get("confidence")
    if confidence is not None:
        column = _numeric(confidence, 0.0, 1.0)
        if column is None:
            return False
        if not np.isnan(column).all():
            batch.numeric["confidence"] = column
    return True
