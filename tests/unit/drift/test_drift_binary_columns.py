"""Binary numeric columns: a record whose number columns are ``{"f8": base64}`` means exactly
the array record (fast path, row path, refusals, DLQ copies), and every malformed binary column
is refused for the whole record with a reason that names it."""

from __future__ import annotations

import base64
import binascii
import math

import msgspec
import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift import EventLimits, decode_record, to_columns
from drift.binary_wire import unbase64
from drift.columnar import subset
from drift.columnar_join import join
from drift.columnar_wire import decode_columns
from producers.records import BINARY_MIN_EVENTS, binary_column, encode_columnar

pytestmark = pytest.mark.unit

LIMITS = EventLimits()


def f8(values: list[float | None]) -> dict[str, str]:
    raw = np.array([math.nan if v is None else v for v in values], dtype="<f8").tobytes()
    return {"f8": base64.b64encode(raw).decode()}


def as_binary(record: dict, names: set[str]) -> dict:
    columns = {k: f8(v) if k in names else v for k, v in record["columns"].items()}
    return {**record, "columns": columns}


def assert_same_batch(a, b) -> None:
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    assert a.numeric.keys() == b.numeric.keys()
    for name, column in b.numeric.items():
        np.testing.assert_array_equal(a.numeric[name], column)
    assert a.categorical == b.categorical


values = st.lists(
    st.one_of(st.none(), st.floats(-1e12, 1e12, allow_nan=False), st.integers(-(10**6), 10**6)),
    min_size=3,
    max_size=3,
)


@settings(max_examples=150, deadline=None)
@given(
    x=values,
    y=values,
    p=values,
    times=st.lists(st.one_of(st.none(), st.floats(1.7e9, 1.8e9)), min_size=3, max_size=3),
    conf=st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=3, max_size=3),
    binary=st.sets(
        st.sampled_from(["input.x", "input.y", "prediction", "timestamp", "confidence"])
    ),
)
def test_a_binary_record_means_the_array_record(x, y, p, times, conf, binary):
    record = {
        "model_id": "m",
        "columns": {
            "timestamp": times,
            "input.x": x,
            "input.y": y,
            "input.colour": ["red", None, "blue"],
            "prediction": p,
            "confidence": conf,
        },
    }
    coded = as_binary(record, binary)
    raw, coded_raw = orjson.dumps(record), orjson.dumps(coded)
    rows, coded_rows = decode_record(raw, LIMITS, "0-1"), decode_record(coded_raw, LIMITS, "0-1")
    assert not coded_rows.errors and not rows.errors
    slow = to_columns(rows.events, math.nan)
    assert_same_batch(to_columns(coded_rows.events, math.nan), slow)
    fast = decode_columns(coded_raw, LIMITS)
    if all(v is None for v in p):
        assert fast is None or "prediction" not in fast.numeric
    assert fast is not None, "a valid binary record takes the fast path"
    assert_same_batch(join([fast], {}), slow)
    plain = decode_columns(raw, LIMITS)
    assert plain is not None
    assert_same_batch(join([fast, plain, fast], {}), join([plain, plain, plain], {}))


def test_the_sdk_writes_number_columns_binary_and_the_worker_reads_them_unchanged():
    events = [
        {"model_id": "m", "timestamp": 1.79e9 + i, "input_data": {"x": 0.1 * i, "n": i, "c": "a"}}
        for i in range(BINARY_MIN_EVENTS)
    ]
    events[2]["input_data"]["x"] = None
    coded = orjson.loads(encode_columnar("m", events))
    assert set(coded["columns"]["input.x"]) == {"f8"} and coded["columns"]["input.c"] == ["a"] * 16
    plain = encode_columnar("m", events, binary=False)
    fast, slow = decode_columns(encode_columnar("m", events), LIMITS), decode_columns(plain, LIMITS)
    assert fast is not None and slow is not None
    assert_same_batch(join([fast], {}), join([slow], {}))
    small = orjson.loads(encode_columnar("m", events[:15]))  # fewer: arrays read faster
    assert small["columns"]["input.x"][:2] == [0.0, 0.1]
    assert orjson.loads(encode_columnar("m", events[:1]))["input_data"]["n"] == 0  # a row event
    assert binary_column([2**60, 1]) == [2**60, 1]  # not exact as floats: stays an array
    assert binary_column([None, None]) == [None, None]
    assert binary_column([math.inf, 1.0]) == f8([None, 1.0])  # as orjson writes inf: null


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"input.x": {"f8": "not base64!"}}, "not base64"),
        ({"input.x": {"f8": base64.b64encode(b"12345").decode()}}, "5 bytes"),
        ({"input.x": f8([1.0, math.inf, 2.0])}, "infinite"),
        ({"input.x": {"f8": f8([1.0, 2.0, 3.0])["f8"], "dtype": "f4"}}, "neither an array nor"),
        ({"input.x": {"f8": 7}}, "neither an array nor"),
        ({"event_id": f8([1.0, 2.0, 3.0])}, "cannot be binary"),
        ({"input.x": f8([1.0, 2.0])}, "differ in length"),
    ],
)
def test_a_badbinary_column_refuses_the_record_and_names_it(column, message):
    record = {"model_id": "m", "columns": {"input.y": [1, 2, 3], "input.x": [1, 2, 3], **column}}
    raw = orjson.dumps(record)
    assert decode_columns(raw, LIMITS) is None
    decoded = decode_record(raw, LIMITS)
    assert not decoded.events and [e.reason for e in decoded.errors] == ["bad_columns"]
    assert message in str(decoded.errors[0])


def test_refused_rows_of_a_binary_record_keep_their_reasons_and_the_dlq_copy_is_arrays():
    record = as_binary(
        {"model_id": "m", "columns": {"input.x": [1.5, 2.5, 3.5], "confidence": [0.5, 7, None]}},
        {"input.x", "confidence"},
    )
    raw = orjson.dumps(record)
    assert decode_columns(raw, LIMITS) is None
    decoded = decode_record(raw, LIMITS)
    assert [(e.index, e.reason) for e in decoded.errors] == [(1, "bad_confidence")]
    assert [e.input_data["x"] for e in decoded.events] == [1.5, 3.5]
    copy = orjson.loads(subset(raw, [1]) or b"null")
    assert copy["columns"] == {"input.x": [2.5], "confidence": [7.0]}


def vectors(rows: list[list[float] | None], dim: int, kind: str = "f8") -> dict:
    dtype = "<f8" if kind == "f8" else "<f4"
    out = np.array([[math.nan] * dim if r is None else r for r in rows], dtype=dtype)
    return {kind: base64.b64encode(out.tobytes()).decode(), "dim": dim}


@pytest.mark.parametrize("kind", ["f8", "f4"])
def test_binary_vectors_mean_their_array_rows_and_take_the_fast_path(kind):
    rows = [[0.5, -1.0, 2.0], None, [0.25, 0.0, 1.5]]
    record = {"model_id": "m", "columns": {"input.x": [1, 2, 3], "embedding.t": rows}}
    coded = {**record, "columns": {**record["columns"], "embedding.t": vectors(rows, 3, kind)}}
    slow = decode_record(orjson.dumps(record), LIMITS)
    fast_rows = decode_record(orjson.dumps(coded), LIMITS)
    assert [e.embeddings for e in fast_rows.events] == [e.embeddings for e in slow.events]
    assert [e.embeddings for e in slow.events][1] == {}
    fast = decode_columns(orjson.dumps(coded), LIMITS)
    assert fast is not None and list(fast.vectors) == ["t"]
    np.testing.assert_array_equal(fast.vectors["t"][[0, 2]], [rows[0], rows[2]])
    assert np.isnan(fast.vectors["t"][1]).all()
    assert decode_columns(orjson.dumps(record), LIMITS) is None  # array vectors: general path


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"f8": vectors([[1.0, 2.0]], 2)["f8"], "dim": 0}, "dim 0"),
        ({"f8": vectors([[1.0, 2.0]], 2)["f8"], "dim": 2000}, "1..1024"),
        ({"f8": vectors([[1.0, 2.0]], 2)["f8"], "dim": 3}, "not a whole number of rows"),
        ({"f8": "AAAA", "f4": "AAAA", "dim": 1}, "neither an array nor"),
        ({"f8": vectors([[1.0, 2.0]], 2)["f8"]}, "neither an array nor"),
    ],
)
def test_a_bad_binary_vector_column_refuses_the_record(column, message):
    record = {"model_id": "m", "columns": {"input.x": [1], "embedding.t": column}}
    raw = orjson.dumps(record)
    assert decode_columns(raw, LIMITS) is None
    decoded = decode_record(raw, LIMITS)
    assert [e.reason for e in decoded.errors] == ["bad_columns"] and not decoded.events
    assert message in str(decoded.errors[0])


def test_a_vector_row_with_nan_or_infinity_is_refused_by_row():
    rows = [[1.0, math.nan], [1.0, 2.0], [math.inf, 0.0], [500.0, 0.0]]
    record = {
        "model_id": "m",
        "columns": {"input.x": [1, 2, 3, 4], "embedding.t": vectors(rows, 2)},
    }
    raw = orjson.dumps(record)
    assert decode_columns(raw, LIMITS) is None
    decoded = decode_record(raw, LIMITS)
    assert [(e.index, e.reason) for e in decoded.errors] == [
        (0, "embedding_out_of_range"),
        (2, "embedding_out_of_range"),
        (3, "embedding_out_of_range"),
    ]
    assert [e.embeddings for e in decoded.events] == [{"t": [1.0, 2.0]}]


base64_text = st.one_of(
    st.text(alphabet="AB+/=", max_size=12),
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", max_size=24
    ),
    st.text(alphabet="AB= \n_-*", max_size=8),
    st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()),
)


@settings(max_examples=600, deadline=None)
@given(base64_text)
def test_the_fast_path_base64_takes_what_msgspec_took_and_never_more_than_strict_binascii(
    text: str,
) -> None:
    """``unbase64`` (pybase64) accepts exactly what msgspec's base64 accepted before it, with
    the same bytes; whatever it accepts, the general path's strict ``binascii`` accepts too
    (the fast path never takes a record the general path would refuse)."""
    try:
        before = msgspec.json.decode(msgspec.json.encode(text), type=bytes)
    except msgspec.ValidationError:
        before = None
    assert unbase64(text) == before
    if before is not None:
        assert binascii.a2b_base64(text, strict_mode=True) == before
