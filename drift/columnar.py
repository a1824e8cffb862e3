"""The columnar record: one model's events as columns of values (docs/architecture.md).

``{"model_id": "m", "columns": {"timestamp": [...], "event_id": [...], "input.x": [...],
"prediction": [...], "confidence": [...], "metadata": [...]}, "metadata": {...}}``: row ``i``
of every column is event ``i``; ``prediction.<key>`` columns replace ``prediction`` for object
predictions; ``embedding.<name>`` columns hold an event's named vectors (an array or null);
the record's ``metadata`` is shared by every event (an event's own ``metadata`` entry adds to
it). Three readings:

* ``drift.columnar_wire.decode_columns`` and ``drift.columnar_join.join``: the worker's fast
  path, straight to numpy columns.
* ``to_rows``: the events as row dicts, which ``validate_event`` judges one by one: the
  general path (``decode_record``), the API and the inference-log sink. Its reasons and
  indexes (``[i]`` = row ``i``) are those of an array record of the same events.
* ``subset``: a columnar record of only some rows (the DLQ copy of a partly valid record).
"""

from __future__ import annotations

from typing import Any

import orjson

from drift import binary_columns, fields
from drift.embeddings import EMBEDDING
from drift.schema import EventLimits, InvalidEvent

INPUT, PREDICTION = "input.", "prediction."
_SCALARS = ("timestamp", "event_id", "confidence", "prediction", "metadata")


def is_columnar(obj: Any) -> bool:
    return type(obj) is dict and "columns" in obj


def looks_columnar(raw: bytes) -> bool:
    """A cheap pre-check on the bytes (an object record naming ``columns``)."""
    return raw[:1] == b"{" and b'"columns"' in raw


def shape(obj: dict[str, Any], limits: EventLimits) -> tuple[dict[str, list[Any]], int]:
    """The columns and their common length; InvalidEvent (whole record) when malformed."""
    columns = obj["columns"]
    if type(columns) is not dict or not columns:
        raise InvalidEvent("bad_columns", "columns must be a non-empty object", "columns")
    columns = binary_columns.expand(columns, limits.max_embedding_dims)
    lengths = set()
    for name, values in columns.items():
        if type(values) is not list:
            message = f'column {name!r:.80} is neither an array nor {{"f8": "<base64>"}}'
            raise InvalidEvent("bad_columns", message, "columns")
        if name not in _SCALARS and not name.startswith((INPUT, PREDICTION, EMBEDDING)):
            message = (
                f"unknown column {name!r:.80}: expected input.<name>, prediction[.<key>], "
                "embedding.<name>, timestamp, event_id, confidence or metadata"
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
    columns, n = shape(obj, limits)
    model = obj.get("model_id")
    fields.model_id(obj)  # the record's model id: refused once for the whole record
    shared = obj.get("metadata")
    if shared is not None and type(shared) is not dict:
        raise InvalidEvent("bad_metadata", "metadata must be an object", "metadata")
    inputs = [(name[len(INPUT) :], v) for name, v in columns.items() if name.startswith(INPUT)]
    keyed = [(k[len(PREDICTION) :], v) for k, v in columns.items() if k.startswith(PREDICTION)]
    scalars = [(name, columns[name]) for name in _SCALARS[:4] if name in columns]
    vectors = [(k[len(EMBEDDING) :], v) for k, v in columns.items() if k.startswith(EMBEDDING)]
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
        if vectors and (held := {k: v[i] for k, v in vectors if v[i] is not None}):
            row["embeddings"] = held
        rows.append(row)
    return rows


def subset(raw: bytes, rows: list[int]) -> bytes | None:
    """Columnar record ``raw`` with only ``rows`` (None when that cannot be had)."""
    try:
        obj = orjson.loads(raw)
        columns = binary_columns.expand(obj["columns"])
        if len(rows) == len(next(iter(columns.values()))):
            return None
        obj["columns"] = {name: [values[i] for i in rows] for name, values in columns.items()}
        return orjson.dumps(obj)
    except (orjson.JSONDecodeError, TypeError, KeyError, IndexError, AttributeError, InvalidEvent):
        return None
