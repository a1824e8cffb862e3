"""Label events: validation with precise reasons, canonical form, the late-label rule."""

from __future__ import annotations

import pytest

from drift.labels import label_delay_error, label_to_json, validate_label
from drift.schema import InvalidEvent

pytestmark = pytest.mark.unit


def test_a_valid_label_keeps_its_type_and_gets_the_receive_time():
    got = validate_label({"model_id": "m1", "event_id": "e-1", "label": "fraud"})
    assert (got.model_id, got.event_id, got.label, got.timestamp) == ("m1", "e-1", "fraud", None)
    assert label_to_json(got, 100.0)["timestamp"] == 100.0
    assert validate_label({"model_id": 7, "event_id": 3, "label": 2.5}).label == 2.5
    assert validate_label({"model_id": "m", "event_id": "e", "label": False}).label is False
    stamped = validate_label(
        {"model_id": "m", "event_id": "e", "label": 1, "timestamp": "2026-12-01T00:00:00Z"}
    )
    assert stamped.timestamp == 1796083200.0


@pytest.mark.parametrize(
    ("body", "reason", "field"),
    [
        ({"event_id": "e", "label": 1}, "missing_model_id", "model_id"),
        ({"model_id": "m m", "event_id": "e", "label": 1}, "bad_model_id", "model_id"),
        ({"model_id": "m", "label": 1}, "missing_event_id", "event_id"),
        ({"model_id": "m", "event_id": "", "label": 1}, "bad_event_id", "event_id"),
        ({"model_id": "m", "event_id": "e"}, "missing_label", "label"),
        ({"model_id": "m", "event_id": "e", "label": [1]}, "bad_label", "label"),
        ({"model_id": "m", "event_id": "e", "label": float("nan")}, "bad_label", "label"),
        ({"model_id": "m", "event_id": "e", "label": "a\x00"}, "nul_character", "label"),
        (
            {"model_id": "m", "event_id": "e", "label": 1, "timestamp": -3},
            "bad_timestamp",
            "timestamp",
        ),
        ([1, 2], "not_an_object", None),
    ],
)
def test_bad_labels_are_refused_naming_the_problem(body, reason, field):
    with pytest.raises(InvalidEvent) as err:
        validate_label(body)
    assert (err.value.reason, err.value.field) == (reason, field)
    assert str(err.value)


def test_labels_later_than_the_horizon_are_too_late():
    week = 7 * 86_400.0
    assert label_delay_error(1_000.0 + week, 1_000.0, week) is None
    assert label_delay_error(1_001.0 + week, 1_000.0, week) == "too_late"
