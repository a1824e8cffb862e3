"""Columnar records: the fast numpy path accepts what row-by-row validation accepts, with the
same stream values, and every refusal names its row and reason."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest

from drift import EventLimits, decode_record, to_columns
from drift.columnar import subset, to_rows
from drift.columnar_join import join
from drift.columnar_wire import decode_columns

pytestmark = pytest.mark.unit

LIMITS = EventLimits()
PLAIN = {
    "model_id": "m1",
    "columns": {
        "timestamp": [1.79e9, None, 1.79e9 + 2],
        "event_id": ["a", None, "c"],
        "input.x": [0.5, None, 3],
        "input.colour": ["red", "blue", None],
        "prediction.label": ["yes", "no", "yes"],
        "prediction.p": [0.1, 0.2, None],
        "confidence": [0.9, None, 1],
    },
    "metadata": {"team": "risk"},
}


def columns_via_rows(record: dict) -> object:
    decoded = decode_record(orjson.dumps(record), LIMITS, "0-1")
    assert not decoded.errors
    return to_columns(decoded.events, math.nan)


def test_plain_record_decodes_straight_to_the_row_path_columns():
    record = decode_columns(orjson.dumps(PLAIN), LIMITS)
    assert (
        record is not None
        and record.model_id == "m1"
        and list(record.event_ids or ()) == ["a", None, "c"]
    )
    fast, slow = join([record], {}), columns_via_rows(PLAIN)
    np.testing.assert_array_equal(fast.timestamps, slow.timestamps)
    assert fast.numeric.keys() == slow.numeric.keys()
    for name, column in slow.numeric.items():
        np.testing.assert_array_equal(fast.numeric[name], column)
    assert fast.categorical == slow.categorical


def test_rows_carry_every_field_and_shared_metadata():
    rows = to_rows(
        {**PLAIN, "columns": {**PLAIN["columns"], "metadata": [None, {"k": 1}, None]}}, LIMITS
    )
    assert rows[1] == {
        "model_id": "m1",
        "input_data": {"x": None, "colour": "blue"},
        "timestamp": None,
        "event_id": None,
        "confidence": None,
        "prediction": {"label": "no", "p": 0.2},
        "metadata": {"team": "risk", "k": 1},
    }


@pytest.mark.parametrize(
    "column",
    [
        {"input.flag": [True, False, True]},  # booleans: categories "true" / "false"
        {"timestamp": ["2026-09-01T00:00:00Z", None, 1.79e9]},  # RFC 3339
        {"input.nested": [{"a": 1}, {"a": 2}, None]},  # nested: flattened as rows are
    ],
)
def test_what_the_fast_path_leaves_is_decoded_row_by_row(column):
    record = {**PLAIN, "columns": {**PLAIN["columns"], **column}}
    assert decode_columns(orjson.dumps(record), LIMITS) is None
    assert len(decode_record(orjson.dumps(record), LIMITS).events) == 3


def test_refused_rows_name_their_index_and_reason():
    record = {**PLAIN, "columns": {**PLAIN["columns"], "confidence": [0.5, 7, "x"]}}
    raw = orjson.dumps(record)
    assert decode_columns(raw, LIMITS) is None
    decoded = decode_record(raw, LIMITS)
    assert [(e.index, e.reason) for e in decoded.errors] == [
        (1, "bad_confidence"),
        (2, "bad_confidence"),
    ]
    assert str(decoded.errors[0]).startswith("event [1]: confidence")
    copy = orjson.loads(subset(raw, [1, 2]) or b"null")
    assert copy["columns"]["confidence"] == [7, "x"] and copy["metadata"] == {"team": "risk"}
    assert subset(raw, [0, 1, 2]) is None  # all refused: the record itself


@pytest.mark.parametrize(
    ("columns", "reason"),
    [
        ({"input.x": [1, 2], "confidence": [0.5]}, "bad_columns"),
        ({"input.x": 1}, "bad_columns"),
        ({"confidence": [0.5]}, "bad_columns"),
        ({"input.x": [1], "prediction": [1], "prediction.k": [1]}, "bad_columns"),
        ({"input.x": [1] * 10_001}, "too_many_events"),
    ],
)
def test_whole_record_problems(columns, reason):
    decoded = decode_record(orjson.dumps({"model_id": "m", "columns": columns}), LIMITS)
    assert not decoded.events and [e.reason for e in decoded.errors] == [reason]
