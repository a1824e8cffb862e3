"""The ``embeddings`` field: precise reasons, and rows, columns and typed tiers agree."""

from __future__ import annotations

import math

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift.events import decode_record, validate_event
from drift.schema import EventLimits, InvalidEvent
from drift.wire import decode_streams
from producers import records

pytestmark = pytest.mark.unit


def _event(vectors: object) -> dict[str, object]:
    return {"model_id": "m", "input_data": {"x": 1.0}, "embeddings": vectors}


@pytest.mark.parametrize(
    ("vectors", "reason", "words"),
    [
        ([0.1], "bad_embedding", "must be an object"),
        ({"t": []}, "bad_embedding", "non-empty array"),
        ({"t": [0.1, "2"]}, "bad_embedding", "got str"),
        ({"t": [True]}, "bad_embedding", "got bool"),
        ({"t": [0.1, 100.5]}, "embedding_out_of_range", "within [-100, 100]"),
        ({"t": [2**62]}, "embedding_out_of_range", "finite"),
        ({"a.b": [0.1]}, "bad_embedding_name", "'a.b'"),
        ({"t": [0.0] * 1025}, "embedding_too_long", "1025 dimensions exceed 1024"),
        ({k: [0.0] for k in "abcde"}, "too_many_embeddings", "5 embeddings exceed 4"),
    ],
)
def test_bad_vectors_are_refused_with_a_precise_reason(vectors, reason, words):
    for decoded in (
        decode_record(orjson.dumps(_event(vectors))),
        decode_streams(orjson.dumps(_event(vectors))),
    ):
        assert not decoded.events
        [error] = decoded.errors
        assert error.reason == reason and words in str(error)


def test_non_finite_values_from_python_callers_are_refused():
    with pytest.raises(InvalidEvent, match="finite") as caught:
        validate_event(_event({"t": [0.0, math.nan]}))
    assert caught.value.reason == "embedding_out_of_range"
    with pytest.raises(InvalidEvent, match="finite"):
        validate_event(_event({"t": [10**400]}))


def test_limits_are_settings():
    small = EventLimits(max_embeddings=1, max_embedding_dims=2, max_embedding_abs=1.0)
    for raw, reason in [
        (orjson.dumps(_event({"a": [0.5], "b": [0.5]})), "too_many_embeddings"),
        (orjson.dumps(_event({"a": [0.5, 0.5, 0.5]})), "embedding_too_long"),
        (orjson.dumps(_event({"a": [1.5]})), "embedding_out_of_range"),
    ]:
        assert decode_streams(raw, small).errors[0].reason == reason


vector = st.lists(
    st.one_of(st.floats(-120, 120, allow_nan=False), st.integers(-150, 150)), max_size=6
)
body = st.dictionaries(st.sampled_from(["text", "img", "a.b"]), vector, max_size=3)


@settings(max_examples=200, deadline=None)
@given(vectors=st.one_of(st.none(), body))
def test_typed_tiers_decide_as_the_general_path(vectors):
    raw = orjson.dumps(_event(vectors))
    slow, fast = decode_record(raw), decode_streams(raw)
    assert [e.reason for e in slow.errors] == [e.reason for e in fast.errors]
    assert [e.embeddings for e in slow.events] == [
        {k: [float(x) for x in v] for k, v in (e.embeddings or {}).items()} for e in fast.events
    ]


def test_columnar_record_carries_vectors_per_row():
    events = [
        records.build_event("m", {"x": 1.0}, None, None, 10.0, embeddings={"text": [0.5, 1]}),
        records.build_event("m", {"x": 2.0}, None, None, 11.0),
        records.build_event("m", {"x": 3.0}, None, None, 12.0, embeddings={"text": [2, -1]}),
    ]
    snapshots = [records.snapshot(records.encode_event(e)) for e in events]
    coded = orjson.loads(records.encode_columnar("m", snapshots))  # vectors binary by default
    assert coded["columns"]["embedding.text"]["dim"] == 2
    assert [e.embeddings for e in decode_streams(orjson.dumps(coded)).events] == [
        {"text": [0.5, 1.0]},
        {},
        {"text": [2.0, -1.0]},
    ]
    raw = records.encode_columnar("m", snapshots, binary=False)
    assert b'"embedding.text":[[0.5,1],null,[2,-1]]' in raw
    decoded = decode_streams(raw)
    assert not decoded.errors
    assert [e.embeddings for e in decoded.events] == [
        {"text": [0.5, 1.0]},
        {},
        {"text": [2.0, -1.0]},
    ]
    bad = raw.replace(b"[2,-1]", b"[2,1000]")
    decoded = decode_streams(bad)
    assert [(e.index, e.reason) for e in decoded.errors] == [(2, "embedding_out_of_range")]
    assert len(decoded.events) == 2 and math.isclose(decoded.events[0].timestamp, 10.0)


def test_columnar_records_with_vectors_leave_the_numpy_fast_path():
    from drift.columnar_wire import decode_columns

    cols = {"input.x": [1.0, 2.0], "embedding.text": [[1.0, 2.0], None]}
    assert decode_columns(orjson.dumps({"model_id": "m", "columns": cols}), EventLimits()) is None
    del cols["embedding.text"]
    assert decode_columns(orjson.dumps({"model_id": "m", "columns": cols}), EventLimits())
