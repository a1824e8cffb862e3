"""Monitored streams of events: flattening and the columnar batch the histograms consume.

Stream names: ``input.<feature>`` (nested objects joined with dots), ``prediction`` for a bare
prediction or ``prediction.<key>`` for an object, and ``confidence``. Numbers become floats,
booleans the categories ``"true"``/``"false"``, strings stay strings, null is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

StreamValue = float | str | None
Kind = Literal["numeric", "categorical"]


class HasStreams(Protocol):
    """What stream extraction reads of an event: an ``InferenceEvent`` or a typed wire struct."""

    @property
    def timestamp(self) -> float | None: ...
    @property
    def input_data(self) -> Mapping[str, Any]: ...
    @property
    def prediction(self) -> Any: ...
    @property
    def confidence(self) -> float | None: ...


def _value(value: Any) -> StreamValue:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return float(value)
    return str(value)


def _flatten(prefix: str, obj: Mapping[str, Any], out: dict[str, StreamValue]) -> None:
    for key, value in obj.items():
        name = f"{prefix}.{key}"
        if isinstance(value, Mapping):
            _flatten(name, value, out)
        else:
            out[name] = _value(value)


def flatten_streams(event: HasStreams) -> dict[str, StreamValue]:
    """The value of every monitored stream of one event (absent prediction/confidence omitted)."""
    streams: dict[str, StreamValue] = {}
    _flatten("input", event.input_data, streams)
    if isinstance(event.prediction, Mapping):
        _flatten("prediction", event.prediction, streams)
    elif event.prediction is not None:
        streams["prediction"] = _value(event.prediction)
    if event.confidence is not None:
        streams["confidence"] = float(event.confidence)
    return streams


@dataclass
class ColumnBatch:
    """Events of one model as columns; row ``i`` of every column is event ``i``.

    A stream absent from an event (or null) is missing in that row: NaN or None.
    """

    timestamps: NDArray[np.float64]
    numeric: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    categorical: dict[str, list[str | None]] = field(default_factory=dict)

    def kinds(self) -> dict[str, Kind]:
        kinds: dict[str, Kind] = dict.fromkeys(self.numeric, "numeric")
        kinds.update(dict.fromkeys(self.categorical, "categorical"))
        return kinds


_NONE = type(None)
_NUMBERS = frozenset({float, int, _NONE})
_TEXT = frozenset({str, _NONE})


def _column_kind(values: list[Any]) -> Kind | None:
    """The kind of a column whose values all share one (or null); None when mixed or nested."""
    types = set(map(type, values))
    if types <= _NUMBERS:
        return "numeric"
    return "categorical" if types <= _TEXT else None


def _flat_columns(prefix: str, objs: list[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """One value list per key of the objects (None where absent); nested values stay objects
    (``_column_kind`` then sends the batch to the general path)."""
    names = dict.fromkeys(objs[0] if objs else ())
    for obj in objs:
        if obj.keys() != names.keys():  # the usual case: every event has the same keys
            names.update(dict.fromkeys(obj))
    return {f"{prefix}.{key}": [obj.get(key) for obj in objs] for key in names}


def _stream_columns(
    events: Sequence[HasStreams], inputs: bool = True
) -> dict[str, list[Any]] | None:
    """Every stream (without inputs: only prediction and confidence) as a list of raw values,
    row-aligned; None when events need flattening one by one (nested objects, a prediction
    that is an object in some events only)."""
    columns = _flat_columns("input", [e.input_data for e in events]) if inputs else {}
    predictions = [e.prediction for e in events]
    kinds = set(map(type, predictions))
    if dict in kinds and not kinds <= {dict, _NONE}:
        return None
    if dict in kinds:
        columns.update(_flat_columns("prediction", [p or {} for p in predictions]))
    elif kinds != {_NONE}:
        columns["prediction"] = predictions
    confidences = [e.confidence for e in events]
    if any(c is not None for c in confidences):
        columns["confidence"] = confidences
    return columns


def _fill(batch: ColumnBatch, name: str, kind: Kind, values: list[Any] | None, n: int) -> None:
    """Store a column; ``values`` None (a kind conflict, or only nulls) stores a missing one."""
    if kind == "numeric":
        batch.numeric[name] = (
            np.full(n, np.nan) if values is None else np.array(values, dtype=np.float64)
        )
    else:
        batch.categorical[name] = [None] * n if values is None else values


def _by_columns(
    columns: dict[str, list[Any]], kinds: dict[str, Kind], batch: ColumnBatch, n: int
) -> bool:
    """Columns whose values are all numbers or all strings (plus nulls), converted at once."""
    found = {name: _column_kind(values) for name, values in columns.items()}
    if None in found.values():
        return False
    for name, values in columns.items():
        kind = found[name]
        if all(v is None for v in values):
            _fill(batch, name, kinds.get(name, "numeric"), None, n)
        elif kind is not None and kinds.setdefault(name, kind) == kind:
            _fill(batch, name, kind, values, n)
        else:
            _fill(batch, name, kinds[name], None, n)
    return True


def _by_rows(events: Sequence[HasStreams], kinds: dict[str, Kind], batch: ColumnBatch) -> None:
    """The general case: flatten each event; a value of the stream's other kind is missing."""
    n = len(events)
    seen: set[str] = set()
    for row, event in enumerate(events):
        for name, value in flatten_streams(event).items():
            seen.add(name)
            if value is None:
                continue
            kind: Kind = "numeric" if isinstance(value, float) else "categorical"
            if kinds.setdefault(name, kind) != kind:
                continue  # conflicting kind: stays missing in this row
            if isinstance(value, float):
                column = batch.numeric.get(name)
                if column is None:
                    column = batch.numeric[name] = np.full(n, np.nan)
                column[row] = value
            else:
                batch.categorical.setdefault(name, [None] * n)[row] = value
    for name in seen - batch.numeric.keys() - batch.categorical.keys():
        _fill(batch, name, kinds.get(name, "numeric"), None, n)


def _numeric_inputs(
    events: Sequence[HasStreams], names: tuple[str, ...], kinds: dict[str, Kind], batch: ColumnBatch
) -> None:
    """Inputs known to be ``names`` in this order with float/None values: one numpy call."""
    n = len(events)
    datas: list[dict[str, Any]] = [e.input_data for e in events]  # type: ignore[misc]
    try:  # one pass without a list per event; a None (missing) is not a float: np.array
        flat = np.fromiter(chain.from_iterable(map(dict.values, datas)), np.float64, n * len(names))
    except (TypeError, ValueError):
        flat = np.array([list(d.values()) for d in datas], dtype=np.float64)
    matrix = flat.reshape(n, len(names)).T.copy()
    for name, column in zip(names, matrix, strict=True):
        name = f"input.{name}"
        if kinds.get(name) == "categorical":
            batch.categorical[name] = [None] * n  # numbers in a categorical stream: missing
            continue
        if not np.isnan(column).all():
            kinds.setdefault(name, "numeric")
        batch.numeric[name] = column


def to_columns(
    events: Sequence[HasStreams],
    default_time: float,
    known_kinds: Mapping[str, Kind] | None = None,
    numeric_names: tuple[str, ...] | None = None,
) -> ColumnBatch:
    """Columns of ``events`` (one model). A stream's kind is ``known_kinds[stream]`` or the kind
    it is first seen with; a value of the other kind counts as missing. Streams that are only
    ever null in the batch (and not known) are numeric columns of NaN.

    Events of one model usually share flat inputs of one type per stream: those are gathered
    column by column and converted with one numpy call each (the worker's hot path); anything
    else (nested objects, booleans, mixed kinds) is flattened event by event.
    ``numeric_names`` promises that every event's input_data holds exactly these names in this
    order with float or None values (``decode_streams`` tells): the inputs then become one
    matrix at once."""
    n = len(events)
    times = [default_time if e.timestamp is None else e.timestamp for e in events]
    batch = ColumnBatch(np.array(times, dtype=np.float64))
    kinds: dict[str, Kind] = dict(known_kinds or {})
    if numeric_names is not None:
        _numeric_inputs(events, numeric_names, kinds, batch)
    columns = _stream_columns(events, inputs=numeric_names is None)
    if columns is None or not _by_columns(columns, kinds, batch, n):
        batch.numeric.clear()
        batch.categorical.clear()
        _by_rows(events, dict(known_kinds or {}), batch)
    return batch


def _has_values(batch: ColumnBatch, name: str) -> Kind | None:
    if name in batch.numeric:
        return None if np.isnan(batch.numeric[name]).all() else "numeric"
    values = batch.categorical.get(name, ())
    return "categorical" if any(v is not None for v in values) else None


def concat(
    batches: Sequence[ColumnBatch], known_kinds: Mapping[str, Kind] | None = None
) -> ColumnBatch:
    """The rows of ``batches`` one after the other (one model's records of a batch). A stream's
    kind is ``known_kinds[stream]`` or that of the first batch where it holds a value (as
    ``to_columns`` takes the first value's); rows of the other kind, or of a batch without
    the stream, are missing. A stream never holding a value is numeric (NaN)."""
    kinds: dict[str, Kind] = dict(known_kinds or {})
    names = dict.fromkeys(n for b in batches for n in (*b.numeric, *b.categorical))
    for name in names:
        if name not in kinds:
            found = [k for b in batches if (k := _has_values(b, name)) is not None]
            kinds[name] = found[0] if found else "numeric"
    sizes = [len(b.timestamps) for b in batches]
    out = ColumnBatch(np.concatenate([b.timestamps for b in batches]))
    for name in names:
        if kinds[name] == "numeric":
            out.numeric[name] = np.concatenate(
                [
                    b.numeric[name] if name in b.numeric else np.full(n, np.nan)
                    for b, n in zip(batches, sizes, strict=True)
                ]
            )
        else:
            column: list[str | None] = []
            for b, n in zip(batches, sizes, strict=True):
                column.extend(b.categorical.get(name) or [None] * n)
            out.categorical[name] = column
    return out
