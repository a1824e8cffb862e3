"""Typed record decoding for the worker: same decisions and stream values as full validation."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift import EventLimits, InferenceEvent, decode_record, flatten_streams, to_columns
from drift.columns import ColumnBatch
from drift.wire import decode_streams

pytestmark = pytest.mark.unit

_numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(-(2**70), 2**70),
)
_scalars = st.one_of(
    st.none(), st.booleans(), _numbers, _numbers, st.text(max_size=8), st.text(max_size=300)
)
_common_names = st.sampled_from(["f0", "f1", "f2", "age", "x.y"])
_names = st.one_of(_common_names, _common_names, _common_names, st.text(max_size=130))

# mostly valid events, so both typed tiers and the fallback all get exercised
_events = st.fixed_dictionaries(
    {
        "model_id": st.one_of(
            st.sampled_from(["m1", "fraud.v2", "a-b_c"]),
            st.sampled_from(["m1", "fraud.v2", "a-b_c"]),
            st.sampled_from(["m1", "fraud.v2", "a-b_c"]),
            st.sampled_from(["bad id", "", "m\n", "x" * 65]),
            st.integers(0, 9),
        ),
        "input_data": st.one_of(
            st.dictionaries(_names, st.one_of(st.none(), _numbers), max_size=5),
            st.dictionaries(_names, _scalars, max_size=5),
            st.dictionaries(_names, _scalars, max_size=5),
            st.dictionaries(
                st.sampled_from(["g", "h"]), st.dictionaries(_names, _scalars, max_size=2)
            ),
            _scalars,
        ),
    },
    optional={
        "timestamp": st.one_of(
            st.none(),
            st.floats(0, 1e10),
            st.floats(0, 1e10),
            _numbers,
            st.just("2026-11-26T10:00:00Z"),
            st.booleans(),
        ),
        "prediction": st.one_of(_scalars, st.dictionaries(_names, _scalars, max_size=22)),
        "confidence": st.one_of(
            st.none(), st.floats(0, 1), st.floats(0, 1), _numbers, st.booleans()
        ),
        "event_id": st.one_of(
            st.none(), st.text(min_size=1, max_size=9), st.text(max_size=70), st.integers(0, 5)
        ),
        "metadata": st.one_of(
            st.none(), st.integers(), st.dictionaries(st.text(max_size=3), _scalars, max_size=2)
        ),
    },
)
_flat_events = st.fixed_dictionaries(
    {
        "model_id": st.sampled_from(["m1", "m2"]),
        "input_data": st.dictionaries(
            _common_names,
            st.one_of(st.none(), st.booleans(), _numbers, st.text(max_size=4)),
            max_size=4,
        ),
        "prediction": st.one_of(
            st.none(),
            st.text(max_size=4),
            _numbers,
            st.booleans(),
            st.dictionaries(_common_names, _scalars, max_size=3),
        ),
    }
)
_records = st.one_of(
    _events,
    st.lists(_flat_events, max_size=4),
    st.lists(_events, max_size=5),
    st.lists(_events.filter(lambda e: isinstance(e["input_data"], dict)), max_size=4),
)


def _raw(obj: Any) -> bytes:
    return json.dumps(obj).encode()  # keeps integers beyond 64 bits, which orjson cannot write


def _same_columns(a: ColumnBatch, b: ColumnBatch) -> None:
    assert a.numeric.keys() == b.numeric.keys()
    for name, column in a.numeric.items():
        np.testing.assert_array_equal(column, b.numeric[name], err_msg=name)
    assert a.categorical == b.categorical
    np.testing.assert_array_equal(a.timestamps, b.timestamps)


@settings(max_examples=600, deadline=None)
@given(_records)
def test_typed_decoding_agrees_with_full_validation(obj: Any) -> None:
    raw = _raw(obj)
    full = decode_record(raw, EventLimits(), "7-9")
    typed = decode_streams(raw, EventLimits(), "7-9")
    assert [(e.reason, str(e)) for e in typed.errors] == [(e.reason, str(e)) for e in full.errors]
    assert len(typed.events) == len(full.events)
    for t, f in zip(typed.events, full.events, strict=True):
        assert (t.model_id, t.timestamp, t.confidence) == (f.model_id, f.timestamp, f.confidence)
        assert flatten_streams(t) == flatten_streams(f)
    if typed.events:
        kinds = [None, {"input.f0": "categorical"}]
        for known in kinds:
            expected = to_columns(full.events, -1.0, known)  # type: ignore[arg-type]
            got = to_columns(
                typed.events,
                -1.0,
                known,  # type: ignore[arg-type]
                numeric_names=typed.numeric_names,
            )
            _same_columns(expected, got)


def _record(rows: int, **extra: Any) -> bytes:
    return orjson.dumps(
        [
            {
                "model_id": "m1",
                "timestamp": 1.79e9 + i,
                "input_data": {"a": i * 0.5, "b": i},
                **extra,
            }
            for i in range(rows)
        ]
    )


def test_common_records_take_the_typed_tiers() -> None:
    numeric = decode_streams(_record(3))
    assert numeric.numeric_names == ("a", "b") and not numeric.errors
    assert not isinstance(numeric.events[0], InferenceEvent)
    assert numeric.events[2].input_data == {"a": 1.0, "b": 2.0}

    mixed = decode_streams(_record(2, prediction={"label": "yes"}, confidence=0.9))
    assert mixed.numeric_names == ("a", "b")  # predictions do not affect the input matrix
    text = decode_streams(orjson.dumps({"model_id": "m", "input_data": {"c": "DE", "f": True}}))
    assert text.numeric_names is None and not isinstance(text.events[0], InferenceEvent)

    nested = decode_streams(orjson.dumps({"model_id": "m", "input_data": {"g": {"x": 1}}}))
    assert isinstance(nested.events[0], InferenceEvent)  # the full path flattens nested inputs


def test_one_bad_event_sends_the_record_to_per_event_judgement() -> None:
    good = {"model_id": "m", "input_data": {"x": 1.0}}
    raw = orjson.dumps([good, {**good, "confidence": 1.5}, {**good, "model_id": "bad id"}])
    decoded = decode_streams(raw, id_seed="3-4")
    assert [e.event_id for e in decoded.events] == ["3-4.0"]
    assert [e.reason for e in decoded.errors] == ["bad_confidence", "bad_model_id"]


def test_typed_limits_follow_the_event_limits() -> None:
    limits = EventLimits(max_features=2, max_string_len=3, max_events_per_record=2)
    too_many = decode_streams(
        orjson.dumps({"model_id": "m", "input_data": dict.fromkeys("abc", 1.0)}), limits
    )
    assert [e.reason for e in too_many.errors] == ["too_many_features"]
    long_text = decode_streams(orjson.dumps({"model_id": "m", "input_data": {"c": "abcd"}}), limits)
    assert [e.reason for e in long_text.errors] == ["string_too_long"]
    assert [e.reason for e in decode_streams(_record(3), limits).errors] == ["too_many_events"]


def test_numeric_columns_mark_nulls_and_known_categorical_streams_missing() -> None:
    raw = orjson.dumps(
        [
            {"model_id": "m", "input_data": {"x": None, "y": 2}},
            {"model_id": "m", "input_data": {"x": 1.5, "y": 3}},
        ]
    )
    decoded = decode_streams(raw)
    assert decoded.numeric_names == ("x", "y")
    batch = to_columns(
        decoded.events, 0.0, {"input.y": "categorical"}, numeric_names=decoded.numeric_names
    )
    x = batch.numeric["input.x"]
    assert math.isnan(x[0]) and x[1] == 1.5
    assert batch.categorical == {"input.y": [None, None]}
