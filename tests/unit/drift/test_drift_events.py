"""Event schema: decoding, validation with precise reasons, flattening into streams, columns."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from drift import (
    EventLimits,
    InferenceEvent,
    InvalidEvent,
    decode_record,
    event_to_json,
    flatten_streams,
    to_columns,
    validate_event,
)
from drift.eventtime import event_time_error
from drift.wire import decode_streams

pytestmark = pytest.mark.unit

GOOD = {
    "event_id": "e-1",
    "model_id": 1,
    "timestamp": "2026-11-26T10:00:00Z",
    "input_data": {"feature1": 0.5, "country": "DE", "flag": True, "geo": {"lat": 52.5}},
    "prediction": {"class": "positive", "score": 0.92},
    "confidence": 0.92,
    "metadata": {"request": "abc"},
}


def with_(**changes: object) -> dict[str, object]:
    event = dict(GOOD)
    event.update(changes)
    return event


def reason_of(obj: object, limits: EventLimits | None = None) -> tuple[str, str]:
    with pytest.raises(InvalidEvent) as info:
        validate_event(obj, limits or EventLimits())
    return info.value.reason, str(info.value)


def test_a_good_event_validates_and_round_trips_through_json() -> None:
    event = validate_event(GOOD)
    assert event.model_id == "1" and event.event_id == "e-1"
    assert event.timestamp == 1795687200.0
    again = validate_event(orjson.loads(orjson.dumps(event_to_json(event))))
    assert again == event


def test_optional_fields_get_defaults() -> None:
    event = validate_event({"model_id": "fraud-v2", "input_data": {"x": 1}})
    assert len(event.event_id) == 32 and int(event.event_id, 16) >= 0
    assert (event.timestamp, event.prediction, event.confidence, event.metadata) == (
        None,
        None,
        None,
        {},
    )
    assert validate_event({"model_id": 1, "input_data": {}, "timestamp": 1.7e9}).timestamp == 1.7e9


@pytest.mark.parametrize(
    ("obj", "reason", "field_in_message"),
    [
        ([], "not_an_object", "JSON object"),
        (with_(model_id=None), "missing_model_id", "model_id"),
        (with_(model_id="has space"), "bad_model_id", "model_id"),
        (with_(model_id=True), "bad_model_id", "model_id"),
        (with_(model_id=-1), "bad_model_id", "model_id"),
        (with_(event_id="x" * 65), "bad_event_id", "event_id"),
        (with_(timestamp="yesterday"), "bad_timestamp", "timestamp"),
        (with_(timestamp=1.7e12), "bad_timestamp", "milliseconds"),
        (with_(timestamp=-5), "bad_timestamp", "timestamp"),
        (with_(timestamp=True), "bad_timestamp", "timestamp"),
        (with_(input_data=None), "missing_input_data", "input_data"),
        (with_(input_data=[1, 2]), "bad_input_data", "input_data"),
        (with_(input_data={"x": [1, 2]}), "bad_feature_value", "input_data.x"),
        (with_(input_data={"x": {"y": {"z": {"w": {"v": 1}}}}}), "too_deep", "input_data.x"),
        (with_(input_data={"": 1}), "bad_feature_name", "input_data."),
        (with_(input_data={"s": "x" * 257}), "string_too_long", "input_data.s"),
        (with_(input_data={"big": 10**400}), "bad_feature_value", "input_data.big"),
        (with_(prediction=[0.1, 0.9]), "bad_prediction", "prediction"),
        (with_(prediction={"c": {"d": [1]}}), "bad_prediction", "prediction.c.d"),
        (with_(confidence=1.5), "bad_confidence", "confidence"),
        (with_(confidence="high"), "bad_confidence", "confidence"),
        (with_(metadata=[1]), "bad_metadata", "metadata"),
        (with_(input_data={"s": "a\x00b"}), "nul_character", "input_data.s"),
        (with_(input_data={"a\x00": 1.0}), "nul_character", "input_data name"),
        (with_(prediction="yes\x00"), "nul_character", "prediction"),
        (with_(event_id="e\x00"), "nul_character", "event_id"),
        (with_(metadata={"tags": ["ok", {"k\x00": 1}]}), "nul_character", "metadata"),
    ],
)
def test_invalid_events_are_rejected_with_a_precise_reason(
    obj: object, reason: str, field_in_message: str
) -> None:
    got_reason, message = reason_of(obj)
    assert got_reason == reason
    assert field_in_message in message


def test_feature_limits_count_flattened_leaves() -> None:
    limits = EventLimits(max_features=3)
    assert validate_event(with_(input_data={"a": 1, "b": {"c": 2, "d": 3}}), limits)
    reason, message = reason_of(with_(input_data={"a": 1, "b": {"c": 2, "d": 3, "e": 4}}), limits)
    assert reason == "too_many_features" and "4 features" in message
    reason, _ = reason_of(with_(input_data={str(i): i for i in range(201)}))
    assert reason == "too_many_features"


def test_decode_record_single_event_and_array_with_per_item_errors() -> None:
    single = decode_record(orjson.dumps(GOOD))
    assert len(single.events) == 1 and single.errors == []
    mixed = decode_record(orjson.dumps([GOOD, 5, with_(confidence=2), GOOD]))
    assert len(mixed.events) == 2
    assert [(e.reason, e.field) for e in mixed.errors] == [
        ("not_an_object", "[1]"),
        ("bad_confidence", "[2].confidence"),
    ]
    assert str(mixed.errors[1]).startswith("event [2]: confidence")
    assert decode_record(b"[]") == decode_record(b"[]") and decode_record(b"[]").events == []


@pytest.mark.parametrize(
    ("raw", "limits", "reason"),
    [
        (b"{not json", EventLimits(), "bad_json"),
        (b"", EventLimits(), "bad_json"),
        (b'"a string"', EventLimits(), "not_an_object"),
        (b"x" * 101, EventLimits(max_record_bytes=100), "record_too_large"),
        (orjson.dumps([GOOD] * 3), EventLimits(max_events_per_record=2), "too_many_events"),
        (orjson.dumps(with_(model_id=None)), EventLimits(), "missing_model_id"),
    ],
)
def test_whole_record_errors_give_one_error_and_no_events(
    raw: bytes, limits: EventLimits, reason: str
) -> None:
    record = decode_record(raw, limits)
    assert record.events == [] and [e.reason for e in record.errors] == [reason]


def test_flatten_streams_names_and_kinds() -> None:
    streams = flatten_streams(validate_event(GOOD))
    assert streams == {
        "input.feature1": 0.5,
        "input.country": "DE",
        "input.flag": "true",
        "input.geo.lat": 52.5,
        "prediction.class": "positive",
        "prediction.score": 0.92,
        "confidence": 0.92,
    }
    bare = flatten_streams(validate_event(with_(prediction=3, confidence=None)))
    assert bare["prediction"] == 3.0 and "confidence" not in bare


def event(inputs: dict[str, object], ts: float | None = None) -> InferenceEvent:
    return InferenceEvent("e", "m", ts, inputs, None, None, {})


def test_to_columns_aligns_rows_and_marks_missing() -> None:
    events = [
        event({"x": 1, "c": "a"}, 10.0),
        event({"x": None, "c": None}),
        event({"c": "b", "y": 2.5}, 12.0),
    ]
    batch = to_columns(events, default_time=99.0)
    assert batch.timestamps.tolist() == [10.0, 99.0, 12.0]
    assert batch.categorical == {"input.c": ["a", None, "b"]}
    x = batch.numeric["input.x"]
    assert x[0] == 1.0 and math.isnan(x[1]) and math.isnan(x[2])
    assert np.isnan(batch.numeric["input.y"][:2]).all() and batch.numeric["input.y"][2] == 2.5


def test_to_columns_counts_a_conflicting_kind_as_missing() -> None:
    events = [event({"x": 1}), event({"x": "one"}), event({"z": None}), event({"b": False})]
    batch = to_columns(events, 0.0)
    assert set(batch.numeric) == {"input.x", "input.z"}  # all-null streams are numeric
    x = batch.numeric["input.x"]
    assert x[0] == 1.0 and np.isnan(x[1:]).all()
    assert batch.categorical["input.b"] == [None, None, None, "false"]
    known = to_columns(events[:2], 0.0, known_kinds={"input.x": "categorical"})
    assert known.kinds() == {"input.x": "categorical"}
    assert known.categorical["input.x"] == [None, "one"]


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_decode_record_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    record = decode_record(raw)
    assert record.events or record.errors or orjson.loads(raw) == []
    assert all(isinstance(e, InvalidEvent) and e.reason for e in record.errors)


@settings(max_examples=60, deadline=None)
@given(json_values, json_values)
def test_decode_record_judges_any_json_without_crashing(inputs: object, prediction: object) -> None:
    obj = {"model_id": "m", "input_data": inputs, "prediction": prediction}
    try:
        raw = orjson.dumps(obj)
    except orjson.JSONEncodeError:  # integers beyond 64 bits cannot be encoded
        return
    record = decode_record(raw)
    assert len(record.events) + len(record.errors) == 1
    if record.events:
        streams = flatten_streams(record.events[0])
        assert all(name.startswith(("input.", "prediction")) for name in streams)
        assert all(v is None or isinstance(v, float | str) for v in streams.values())


def test_non_string_feature_names_from_python_callers_are_rejected() -> None:
    reason, message = reason_of(with_(input_data={1: 2.0}))
    assert reason == "bad_feature_name" and "input_data.1" in message


def test_id_seed_makes_missing_event_ids_deterministic():
    no_id = {k: v for k, v in GOOD.items() if k != "event_id"}
    raw = orjson.dumps([no_id, {**no_id, "event_id": "given"}, no_id])
    ids = [e.event_id for e in decode_record(raw, id_seed="3-17").events]
    assert ids == ["3-17.0", "given", "3-17.2"]
    assert decode_record(orjson.dumps(no_id), id_seed="0-5").events[0].event_id == "0-5"
    random_ids = {decode_record(orjson.dumps(no_id)).events[0].event_id for _ in range(3)}
    assert len(random_ids) == 3


def test_fast_path_still_rejects_numbers_out_of_float_range_and_long_names():
    with pytest.raises(InvalidEvent) as huge:
        validate_event({**GOOD, "input_data": {"x": 10**400}})
    assert huge.value.reason == "bad_feature_value"
    long_name = decode_record(orjson.dumps({**GOOD, "input_data": {"x" * 300: 1.0}}))
    assert [e.reason for e in long_name.errors] == ["bad_feature_name"]


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.text(max_size=300),
)
_fields = st.fixed_dictionaries(
    {},
    optional={
        "model_id": st.one_of(st.sampled_from(["m1", "a.b-c_1", "bad id", ""]), st.integers(-5, 9)),
        "timestamp": st.one_of(_scalars, st.sampled_from(["2026-11-26T10:00:00Z", "x"])),
        "input_data": st.one_of(
            _scalars,
            st.dictionaries(st.text(max_size=140), _scalars, max_size=6),
            st.dictionaries(
                st.text(min_size=1, max_size=5),
                st.dictionaries(st.text(max_size=3), _scalars, max_size=2),
                max_size=2,
            ),
        ),
        "prediction": st.one_of(
            _scalars, st.dictionaries(st.text(max_size=8), _scalars, max_size=25)
        ),
        "confidence": _scalars,
        "event_id": st.one_of(_scalars, st.text(min_size=60, max_size=70)),
        "metadata": st.one_of(_scalars, st.dictionaries(st.text(max_size=3), _scalars)),
    },
)


@settings(max_examples=400, deadline=None)
@given(_fields)
def test_fast_path_agrees_with_full_validation(obj):
    from drift.events import _fast_event

    assume("\\u0000" not in json.dumps(obj))  # records with NULs never take the fast path
    fast = _fast_event(obj, EventLimits(), "seed.0")
    try:
        slow = validate_event(obj, EventLimits(), "seed.0")
    except InvalidEvent:
        assert fast is None, obj
        return
    assert fast is None or fast == slow, (obj, fast, slow)


def test_records_with_a_nul_character_are_rejected_on_every_path():
    from drift.wire import decode_streams

    good = {"model_id": "m", "input_data": {"x": 1.0, "c": "DE"}}
    raw = orjson.dumps([good, {**good, "input_data": {"x": 1.0, "c": "D\x00E"}}])
    for decode in (decode_record, decode_streams):
        decoded = decode(raw)
        assert len(decoded.events) == 1, decode
        assert [e.reason for e in decoded.errors] == ["nul_character"], decode
        assert "input_data.c" in str(decoded.errors[0])


def test_fast_path_takes_the_common_event():
    from drift.events import _fast_event

    common = {
        **GOOD,
        "model_id": "fraud",
        "timestamp": 1.79e9,
        "input_data": {"feature1": 0.5, "country": "DE", "flag": True, "n": 3},
    }
    fast = _fast_event(common, EventLimits(), "s.0")
    assert fast is not None and fast == validate_event(common, EventLimits(), "s.0")
    assert _fast_event(GOOD, EventLimits(), "s.0") is None  # int id, RFC 3339, nested: full path


@pytest.mark.parametrize("model", [b"7", b'"m7"'])
@pytest.mark.parametrize("depth", [EventLimits().max_metadata_depth + 1, 600, 5000])
@pytest.mark.parametrize("timestamp", [b"1790000000.0", b'"2026-12-01T00:00:00Z"'])
def test_deep_metadata_is_too_deep_not_a_recursion_error(model, depth, timestamp):
    # the probe's poison record: metadata nested 600 deep raised RecursionError in
    # decode_record (documented as never raising) and stopped the worker
    meta = b'{"a":' * depth + b"1" + b"}" * depth
    raw = (
        b'{"model_id":'
        + model
        + b',"timestamp":'
        + timestamp
        + b',"input_data":{"a":1.0},"metadata":'
        + meta
        + b"}"
    )
    for decoded in (decode_record(raw), decode_streams(raw)):
        assert decoded.events == [] and [e.reason for e in decoded.errors] == ["too_deep"]
    obj = {"model_id": "m", "input_data": {"a": 1.0}, "metadata": _nested(depth)}
    with pytest.raises(InvalidEvent) as err:
        validate_event(obj)
    assert err.value.reason == "too_deep"


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"a": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_metadata_within_the_depth_limit_is_kept():
    meta = _nested(EventLimits().max_metadata_depth - 1)
    raw = orjson.dumps({"model_id": "m", "input_data": {"a": 1.0}, "metadata": meta})
    (event,) = decode_record(raw).events
    assert event.metadata == meta
    assert len(decode_streams(raw).events) == 1


def test_a_deep_array_item_is_too_deep_and_its_neighbours_count():
    good = b'{"model_id":"m","input_data":{"a":1.0}}'
    deep = b"[" * 600 + b"]" * 600
    bad = b'{"model_id":"m","input_data":{"a":1.0},"metadata":{"l":' + deep + b"}}"
    decoded = decode_record(b"[" + good + b"," + bad + b"," + good + b"]")
    assert len(decoded.events) == 2
    assert [(e.reason, e.index) for e in decoded.errors] == [("too_deep", 1)]


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        (9_999_999_999.0, "timestamp_in_future"),
        (1_000.0 + 301, "timestamp_in_future"),
        (1_000.0 + 300, None),
        (1_000.0 - 500, None),
        (1_000.0 - 501, "timestamp_too_old"),
        (0.0, "timestamp_too_old"),
    ],
)
def test_event_time_error(ts, reason):
    assert event_time_error(ts, 1_000.0, max_future=300.0, max_age=500.0) == reason
