"""Typed decoding of the common record, for consumers that need only the monitored streams.

The stream worker does not need event ids or metadata, only each event's model, time and
stream values. ``decode_streams`` decodes a record with msgspec against typed structs that
encode the schema's limits, so parsing and most checks run in C, in two tiers:

1. every input is a number or null (decoded as floats): the worker builds its columns from
   these with one numpy call (``numeric_names``);
2. inputs are flat scalars of any kind.

Model names and input names are checked in Python once per distinct value or name list
(checking 20 key lengths per event inside msgspec halves its speed). Anything the typed tiers
refuse (nested inputs, RFC 3339 times, integer model ids, any invalid event) goes to
``decode_record``, which judges each event with ``validate_event``; so the accept/reject
decision and every stream value are the same as there (tests compare them).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from drift import fields
from drift.events import DEFAULT_LIMITS, decode_record, may_hold_nul
from drift.schema import EventLimits, InvalidEvent

_INT64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]  # wider ints: decode_record decides


@dataclass(frozen=True, slots=True)
class DecodedStreams:
    """The events of one record (typed structs or ``InferenceEvent``s: both carry model_id,
    timestamp, input_data, prediction and confidence) and the errors of invalid ones.

    ``numeric_names`` is set when every event's input_data holds exactly these names, in this
    order, with float or None values."""

    events: list[Any]
    errors: list[InvalidEvent]
    numeric_names: tuple[str, ...] | None = None
    models: frozenset[str] = frozenset()  # the model ids of ``events``


@dataclass(frozen=True, slots=True)
class _Tiers:
    numeric: msgspec.json.Decoder[Any]
    flat: msgspec.json.Decoder[Any]
    input_name_len: int


def _struct(name: str, leaf: Any, limits: EventLimits) -> Any:
    text = Annotated[str, Meta(max_length=limits.max_string_len)]
    scalar = _INT64 | float | text | bool | None
    key = Annotated[str, Meta(min_length=1, max_length=limits.max_name_len - len("prediction."))]
    prediction = (
        scalar | Annotated[dict[key, scalar], Meta(max_length=limits.max_prediction_fields)]
    )
    bound = limits.max_embedding_abs
    coordinate = Annotated[float, Meta(ge=-bound, le=bound)]
    vector = Annotated[list[coordinate], Meta(min_length=1, max_length=limits.max_embedding_dims)]
    vector_name = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    vectors = Annotated[dict[vector_name, vector], Meta(max_length=limits.max_embeddings)]
    struct = msgspec.defstruct(
        name,
        [
            ("model_id", str),
            ("input_data", Annotated[dict[str, leaf], Meta(max_length=limits.max_features)]),
            ("timestamp", Annotated[float, Meta(ge=0, le=limits.max_timestamp)] | None, None),
            ("prediction", prediction, None),
            ("confidence", Annotated[float, Meta(ge=0, le=1)] | None, None),
            (
                "event_id",
                Annotated[str, Meta(min_length=1, max_length=limits.max_id_len)] | None,
                None,
            ),
            # flat metadata only: nested metadata goes to ``decode_record``, which bounds its
            # depth (msgspec would recurse into it and raise RecursionError)
            ("metadata", dict[str, scalar] | None, None),
            ("embeddings", vectors | None, None),  # the rules of ``drift.embeddings``
        ],
        gc=False,  # holds only dicts and scalars: no reference cycles
    )
    record = Annotated[list[struct], Meta(max_length=limits.max_events_per_record)]  # type: ignore[valid-type]
    return record | struct


def _tiers(limits: EventLimits) -> _Tiers:
    """The decoders of ``limits``, the last ones looked up by identity (hashing the limits
    took a tenth of a one-event record's decoding)."""
    last = _LAST_TIERS.get(id(limits))
    if last is not None and last[0] is limits:
        return last[1]
    tiers = _make_tiers(limits)
    _LAST_TIERS.clear()
    _LAST_TIERS[id(limits)] = (limits, tiers)
    return tiers


_LAST_TIERS: dict[int, tuple[EventLimits, _Tiers]] = {}


@lru_cache(maxsize=8)
def _make_tiers(limits: EventLimits) -> _Tiers:
    text = Annotated[str, Meta(max_length=limits.max_string_len)]
    return _Tiers(
        msgspec.json.Decoder(_struct("NumericEvent", float | None, limits)),
        msgspec.json.Decoder(_struct("FlatEvent", _INT64 | float | text | bool | None, limits)),
        limits.max_name_len - len("input_data."),
    )


def _names_ok(names: Any, longest: int) -> bool:
    return all(type(n) is str and 0 < len(n) <= longest for n in names)


_CHECKED: set[tuple[int, tuple[str, ...]]] = set()  # input name lists found valid (bounded)


def _input_names_ok(names: tuple[str, ...], longest: int) -> bool:
    """``_names_ok`` remembered per name list: records of one event repeat the same names."""
    key = (longest, names)
    if key in _CHECKED:
        return True
    if not _names_ok(names, longest):
        return False
    if len(_CHECKED) >= 4096:
        _CHECKED.clear()
    _CHECKED.add(key)
    return True


_MODELS: set[str] = set()  # model ids found valid (bounded)


def _model_ok(model: str) -> bool:
    """``fields.is_model_name`` remembered (a regular expression match per record otherwise)."""
    if model in _MODELS:
        return True
    if not fields.is_model_name(model):
        return False
    if len(_MODELS) >= 4096:
        _MODELS.clear()
    _MODELS.add(model)
    return True


def _valid(
    events: list[Any], models: frozenset[str], tiers: _Tiers
) -> tuple[bool, tuple[str, ...] | None]:
    """(every name valid, the input names when all events share them in one order)."""
    if not all(map(_model_ok, models)):
        return False, None
    if len(events) == 1:  # a record of one event (the hot path at one event per record)
        names = tuple(events[0].input_data)
        return _input_names_ok(names, tiers.input_name_len), names
    datas = [e.input_data for e in events]
    first = list(datas[0])
    shared = all(map(first.__eq__, map(list, datas)))
    if shared:
        names = tuple(first)
        if not _input_names_ok(names, tiers.input_name_len):
            return False, None
    elif not _names_ok({n for d in datas for n in d}, tiers.input_name_len):
        return False, None
    return True, names if shared else None


def decode_event(
    raw: bytes, limits: EventLimits = DEFAULT_LIMITS
) -> tuple[Any, tuple[str, ...] | None] | None:
    """The event of a record of one event (a JSON object) that a typed tier takes with valid
    names, and its input names when every input is a number or null (``numeric_names``):
    exactly what ``decode_streams`` returns for it, without a ``DecodedStreams`` per record
    (the worker's hot path at one event per record). None: anything else (an array, a
    columnar or invalid record, a possible NUL), which ``decode_streams`` decides."""
    if not raw.startswith(b"{") or len(raw) > limits.max_record_bytes or may_hold_nul(raw):
        return None
    tiers = _tiers(limits)
    for decoder, numeric in ((tiers.numeric, True), (tiers.flat, False)):
        try:
            event = decoder.decode(raw)
        except (msgspec.DecodeError, RecursionError):
            continue
        names = tuple(event.input_data)
        if not (_model_ok(event.model_id) and _input_names_ok(names, tiers.input_name_len)):
            return None
        return event, names if numeric else None
    return None


def decode_streams(
    raw: bytes, limits: EventLimits = DEFAULT_LIMITS, id_seed: str | None = None
) -> DecodedStreams:
    """Decode one record for its streams; never raises. Typed events carry no default event
    id (``event_id`` None when the record had none); events of the ``decode_record`` fallback
    get ids from ``id_seed`` as there."""
    if len(raw) <= limits.max_record_bytes and not may_hold_nul(raw):  # NULs: decode_record
        tiers = _tiers(limits)
        for decoder, numeric in ((tiers.numeric, True), (tiers.flat, False)):
            try:
                decoded = decoder.decode(raw)
            except (msgspec.DecodeError, RecursionError):  # validation too: next tier / fallback
                continue
            events = decoded if type(decoded) is list else [decoded]
            if not events:
                return DecodedStreams([], [])
            models = frozenset(e.model_id for e in events)
            ok, names = _valid(events, models, tiers)
            if ok:
                return DecodedStreams(events, [], names if numeric else None, models)
            break
    record = decode_record(raw, limits, id_seed)
    models = frozenset(e.model_id for e in record.events)
    return DecodedStreams(list(record.events), record.errors, None, models)
