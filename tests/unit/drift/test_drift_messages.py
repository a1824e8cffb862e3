"""Typed messages: the JSON on the wire is the contract's, bad commands are named precisely."""

from __future__ import annotations

import orjson
import pytest

from drift.messages import (
    AcceptChange,
    AcceptRecord,
    AlertTransition,
    InvalidCommand,
    PinBaseline,
    SetBaselineMode,
    SetThresholds,
    UnpinBaseline,
    parse_command,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("command", "wire"),
    [
        (PinBaseline("m1", 5.0), {"action": "pin_baseline", "model_id": "m1", "requested_at": 5.0}),
        (
            UnpinBaseline("m1", 5.0),
            {"action": "unpin_baseline", "model_id": "m1", "requested_at": 5.0},
        ),
        (
            SetThresholds("m1", 5.0, {"*": {"kl_divergence": 0.2}}),
            {
                "action": "set_thresholds",
                "model_id": "m1",
                "requested_at": 5.0,
                "thresholds": {"*": {"kl_divergence": 0.2}},
            },
        ),
        (
            AcceptChange("m1", 5.0, "input.x", "ana"),
            {
                "action": "accept_change",
                "model_id": "m1",
                "requested_at": 5.0,
                "stream": "input.x",
                "by": "ana",
            },
        ),
        (
            SetBaselineMode("m1", 5.0, "seasonal"),
            {
                "action": "set_baseline_mode",
                "model_id": "m1",
                "requested_at": 5.0,
                "mode": "seasonal",
            },
        ),
    ],
)
def test_commands_are_the_contract_json_and_parse_back(command, wire):
    raw = orjson.dumps(command)
    assert list(orjson.loads(raw).items()) == list(wire.items())  # same keys, same order
    assert parse_command(orjson.loads(raw)) == command


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([1], "must be a JSON object, got list"),
        ({"action": "drop_tables", "model_id": "m"}, "unknown action 'drop_tables'"),
        ({"action": "pin_baseline", "model_id": "a b"}, "invalid model_id 'a b'"),
        ({"action": "pin_baseline", "model_id": "m", "requested_at": "now"}, "requested_at"),
        ({"action": "set_thresholds", "model_id": "m", "thresholds": [1]}, "thresholds must be"),
        ({"action": "set_baseline_mode", "model_id": "m", "mode": "weekly"}, "mode must be"),
        ({"action": "accept_change", "model_id": "m", "stream": 3}, "stream must be a string"),
    ],
)
def test_bad_commands_are_named(obj, message):
    with pytest.raises(InvalidCommand, match=message):
        parse_command(obj)


def test_records_read_like_their_json():
    accept = AcceptRecord("m1", ["input.x"], "ana", 7.0)
    assert accept["action"] == "accept" and accept["streams"] == ["input.x"]
    assert orjson.loads(orjson.dumps(accept)) == {
        "action": "accept",
        "model_id": "m1",
        "streams": ["input.x"],
        "by": "ana",
        "accepted_at": 7.0,
    }
    alert = AlertTransition("m", "input.x", "drift", "open", 60, "warning", 2.0, 1.0, "g", [], "x")
    assert list(orjson.loads(orjson.dumps(alert))) == [
        "model_id",
        "stream",
        "metric",
        "transition",
        "at",
        "severity",
        "value",
        "threshold",
        "trigger_metric",
        "drifted_metrics",
        "message",
    ]
    with pytest.raises(KeyError):
        alert["nope"]
