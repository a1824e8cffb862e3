"""The worker's fast reading of columnar records (``drift.columnar``): straight to numpy.

``decode_columns`` parses a record with orjson and checks it column by column (the value types
of a whole column at once, in C; the column names once per name list), keeping the validated
lists: no per-event object is ever made (``drift.columnar_join`` then joins a batch's records
of one model into numpy columns). None from ``decode_columns`` means "not the plain case" (an
invalid value, booleans, RFC 3339 times, nested metadata): the general path (``to_rows`` +
``validate_event``) decides, and both accept the same rows with the same values (tests compare
them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any

import msgspec
import numpy as np
import orjson
from msgspec import Meta

from drift import fields
from drift.binary_wire import Binary, arrays, vectors_of
from drift.columnar import INPUT, PREDICTION, is_columnar, shape
from drift.embeddings import EMBEDDING, is_embedding_name
from drift.events import may_hold_nul
from drift.schema import EventLimits, InvalidEvent

_BIG = 2**53  # = features.FLOAT_INT_LIMIT: larger integers are not exact as floats
_NONE = type(None)
_FLOATS = frozenset({float, _NONE})
_NUMBERS = frozenset({float, int, _NONE})
_TEXT = frozenset({str, _NONE})
_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}  # stream names plus confidence, shared


@dataclass(frozen=True, slots=True)
class ColumnarRecord:
    """A valid columnar record: its decoded ``columns`` (validated lists) and which of them
    are numeric streams (numbers or null) and categorical ones (strings or null)."""

    model_id: str
    n: int
    columns: dict[str, list[Any]]
    numeric: tuple[str, ...]
    categorical: tuple[str, ...] = ()
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # name: (n, dim), NaN: null

    def __len__(self) -> int:
        return self.n

    @property
    def timestamps(self) -> list[float | None] | None:
        return self.columns.get("timestamp")

    @property
    def event_ids(self) -> list[str | None] | None:
        return self.columns.get("event_id")

    def time_range(self) -> tuple[float, float] | None:
        """(earliest, latest) of the record's event times; None: it has none."""
        times = self.columns.get("timestamp")
        if times is None:
            return None
        if type(times) is np.ndarray:
            present = times[~np.isnan(times)]
            return (float(present.min()), float(present.max())) if len(present) else None
        if None in times:
            times = [t for t in times if t is not None]
        return (min(times), max(times)) if times else None


@dataclass(frozen=True, slots=True)
class _Layout:
    streams: tuple[str, ...]  # input.*, prediction.* and prediction columns, in record order
    no_bare: tuple[str, ...]  # the same without a bare prediction
    vectors: tuple[str, ...] = ()  # embedding.* columns


@lru_cache(maxsize=4096)
def _layout(names: tuple[str, ...], limits: EventLimits) -> _Layout | None:
    """The column names of a valid plain record, checked once per name list."""
    try:
        shape({"columns": {name: [] for name in names}}, limits)
    except InvalidEvent:
        return None
    vectors = tuple(k for k in names if k.startswith(EMBEDDING))
    if len(vectors) > limits.max_embeddings or not all(
        is_embedding_name(k[len(EMBEDDING) :]) for k in vectors
    ):
        return None  # the general path (``to_rows`` + ``validate_event``) says which event
    inputs = [k for k in names if k.startswith(INPUT)]
    keys = [k for k in names if k.startswith(PREDICTION)]
    if len(inputs) > limits.max_features or len(keys) > limits.max_prediction_fields:
        return None
    longest = limits.max_name_len - len("input_data.")
    if not all(0 < len(k) - len(INPUT) <= longest for k in inputs):
        return None
    longest = limits.max_name_len - len(PREDICTION)
    if not all(0 < len(k) - len(PREDICTION) <= longest for k in keys):
        return None
    streams = tuple(k for k in names if k.startswith((INPUT, PREDICTION)) or k == "prediction")
    return _Layout(streams, tuple(k for k in streams if k != "prediction"), vectors)


def _numbers(values: list[Any] | np.ndarray, low: float, high: float) -> bool:
    """Every value a number in [low, high] (integers exact as floats) or null."""
    if type(values) is np.ndarray:  # a binary column: finite floats or NaN (null)
        present = values[~np.isnan(values)]
        return not len(present) or (low <= present.min() and present.max() <= high)
    types = set(map(type, values))
    if not types <= _NUMBERS:
        return False
    present = [v for v in values if v is not None] if _NONE in types else values
    if present and (min(present) < low or max(present) > high):
        return False
    return not (int in types and present and max(map(abs, present)) >= _BIG)


def null_count(values: list[Any] | np.ndarray) -> int:
    """How many of a column's values are null (NaN in a binary column)."""
    if isinstance(values, np.ndarray):
        return int(np.isnan(values).sum())
    return values.count(None)


def _text(values: list[Any], shortest: int, longest: int) -> bool:
    if type(values) is np.ndarray:
        return False
    types = set(map(type, values))
    if not types <= _TEXT:
        return False
    present = [v for v in values if v is not None] if _NONE in types else values
    lengths = list(map(len, present))
    return not lengths or (shortest <= min(lengths) and max(lengths) <= longest)


def _flat(obj: Any) -> bool:
    return obj is None or (
        type(obj) is dict and not any(type(v) is dict or type(v) is list for v in obj.values())
    )


@lru_cache(maxsize=8)
def _decoders(limits: EventLimits) -> tuple[msgspec.json.Decoder[Any], ...]:
    """Typed decoders (msgspec, checks in C): every column of floats or null; of flat scalars.
    Columns decode as tuples: tuples of scalars leave the garbage collector's lists at its
    first pass, so the small records of a batch do not make every collection slower."""
    text = Annotated[str, Meta(max_length=limits.max_string_len)]
    scalar = float | text | bool | None
    out = []
    for leaf in (float | None, float | text | None):
        column = tuple[leaf, ...] | Binary  # type: ignore[valid-type]
        struct = msgspec.defstruct(
            "Columnar",
            [
                ("model_id", str),
                ("columns", dict[str, column]),
                ("metadata", dict[str, scalar] | None, None),
            ],
            gc=False,
        )
        out.append(msgspec.json.Decoder(struct))
    return tuple(out)


def _typed(raw: bytes, limits: EventLimits) -> tuple[str, dict[str, list[Any]], bool] | None:
    """(model id, columns, every value a float or null) by the first typed decoder that takes
    the record; None: neither does. Not looked for ``"event_id"`` first: in base64 text that
    search costs half a parse, while the numbers-only decoder fails at the first string (the
    SDK writes ``event_id`` right after ``timestamp``)."""
    for decoder, floats in zip(_decoders(limits), (True, False), strict=True):
        try:
            obj = decoder.decode(raw)
        except (msgspec.DecodeError, RecursionError):
            continue
        columns = arrays(obj.columns)
        if columns is None:
            return None
        return obj.model_id, columns, floats
    return None


def _untyped(raw: bytes) -> tuple[str, dict[str, list[Any]], bool] | None:
    """The same by orjson (a metadata column, integers, ...): values checked afterwards."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not is_columnar(obj) or not _flat(obj.get("metadata")):
        return None
    model, columns = obj.get("model_id"), obj["columns"]
    if type(model) is not str or type(columns) is not dict:
        return None
    if set(map(type, columns.values())) != {list}:
        return None
    if not all(map(_flat, columns.get("metadata", ()))):
        return None
    return model, columns, False


def decode_columns(raw: bytes, limits: EventLimits) -> ColumnarRecord | None:
    """The plain valid columnar record as validated columns; None for anything else."""
    if len(_NAMES) > 4096:
        _NAMES.clear()
    if len(raw) > limits.max_record_bytes or may_hold_nul(raw):
        return None
    decoded = _typed(raw, limits) or _untyped(raw)
    if decoded is None:
        return None
    model, columns, floats = decoded
    layout = _layout(tuple(columns), limits)
    if layout is None or not fields.is_model_name(model):
        return None
    lengths = set(map(len, columns.values()))
    n = lengths.pop()
    if lengths or not 0 < n <= limits.max_events_per_record:
        return None
    times, ids = columns.get("timestamp"), columns.get("event_id")
    if times is not None and not _numbers(times, 0, limits.max_timestamp):
        return None
    if ids is not None and not _text(ids, 1, limits.max_id_len):
        return None
    confidence = columns.get("confidence")
    if confidence is not None and not _numbers(confidence, 0.0, 1.0):
        return None
    vectors = vectors_of(columns, layout.vectors, limits) if layout.vectors else {}
    if vectors is None:
        return None
    names = layout.streams
    bare = columns.get("prediction")
    if bare is not None and null_count(bare) == n:
        names = layout.no_bare  # a bare prediction only ever null is no stream (as rows)
    if confidence is not None and null_count(confidence) != n:
        names = _NAMES.setdefault(names, (*names, "confidence"))  # one object: ``join``
    if floats:  # the common case: nothing more to check
        return ColumnarRecord(model, n, columns, names, (), vectors)
    return _kinds(model, n, columns, names, limits, vectors)


def _kinds(
    model: str,
    n: int,
    columns: dict[str, list[Any]],
    names: tuple[str, ...],
    limits: EventLimits,
    vectors: dict[str, np.ndarray],
) -> ColumnarRecord | None:
    """Streams of numbers and of strings (each plus nulls); None when a column mixes them."""
    numeric: list[str] = []
    categorical: list[str] = []
    for name in names:
        column = columns[name]
        if type(column) is np.ndarray or _numbers(column, -np.inf, np.inf):  # binary: numbers
            numeric.append(name)
        elif _text(column, 0, limits.max_string_len):
            categorical.append(name)
        else:
            return None
    return ColumnarRecord(model, n, columns, tuple(numeric), tuple(categorical), vectors)
