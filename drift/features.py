"""Validation of the monitored parts of an event: ``input_data`` and ``prediction``.

Both are trees of JSON objects whose leaves are numbers, strings, booleans or null; arrays are
rejected (send one feature per element). Limits bound depth, names, strings and leaf counts.
"""

from __future__ import annotations

from typing import Any

from drift.fields import nul_message
from drift.schema import EventLimits, InvalidEvent


def _scalar(value: Any, field: str, limits: EventLimits, reason: str) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int | float):
        try:
            float(value)
        except OverflowError:
            raise InvalidEvent(
                reason, f"{field}: number {str(value)[:40]}... is out of range", field
            ) from None
        return
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidEvent("nul_character", nul_message(field), field)
        if len(value) > limits.max_string_len:
            raise InvalidEvent(
                "string_too_long",
                f"{field}: string of {len(value)} characters exceeds {limits.max_string_len}",
                field,
            )
        return
    raise InvalidEvent(
        reason,
        f"{field}: expected a number, string, boolean, null or object, got {type(value).__name__}",
        field,
    )


FLOAT_INT_LIMIT = 2**1023  # ints beyond this overflow a float


def _tree(obj: dict[str, Any], prefix: str, limits: EventLimits, depth: int, reason: str) -> int:
    """Validate a nested object of scalars; returns its number of leaves."""
    if depth > limits.max_depth:
        raise InvalidEvent("too_deep", f"{prefix}: nesting deeper than {limits.max_depth}", prefix)
    leaves = 0
    longest = limits.max_name_len - len(prefix) - 1
    for key, value in obj.items():
        kind = type(value)
        # fast path for the common leaf: a finite-width number under a valid name
        if (kind is float or (kind is int and -FLOAT_INT_LIMIT < value < FLOAT_INT_LIMIT)) and (
            type(key) is str and 0 < len(key) <= longest and "\x00" not in key
        ):
            leaves += 1
            continue
        name = f"{prefix}.{key}"
        if not isinstance(key, str) or not key or len(name) > limits.max_name_len:
            raise InvalidEvent(
                "bad_feature_name", f"{name:.80}: names must be 1-{limits.max_name_len} long", name
            )
        if "\x00" in key:
            raise InvalidEvent("nul_character", nul_message(f"{prefix} name {key!r:.80}"), name)
        if isinstance(value, dict):
            leaves += _tree(value, name, limits, depth + 1, reason)
        else:
            _scalar(value, name, limits, reason)
            leaves += 1
    return leaves


def input_data(obj: dict[str, Any], limits: EventLimits) -> dict[str, Any]:
    value = obj.get("input_data")
    if value is None:
        raise InvalidEvent("missing_input_data", "input_data is required", "input_data")
    if not isinstance(value, dict):
        raise InvalidEvent(
            "bad_input_data",
            f"input_data must be an object, got {type(value).__name__}",
            "input_data",
        )
    if len(value) > limits.max_features:  # cheap guard before walking a huge object
        raise InvalidEvent("too_many_features", _too_many(len(value), limits), "input_data")
    leaves = _tree(value, "input_data", limits, 1, "bad_feature_value")
    if leaves > limits.max_features:
        raise InvalidEvent("too_many_features", _too_many(leaves, limits), "input_data")
    return value


def _too_many(n: int, limits: EventLimits) -> str:
    return f"input_data has {n} features, more than the limit of {limits.max_features}"


def prediction(obj: dict[str, Any], limits: EventLimits) -> Any:
    value = obj.get("prediction")
    if isinstance(value, dict):
        leaves = _tree(value, "prediction", limits, 1, "bad_prediction")
        if leaves > limits.max_prediction_fields:
            raise InvalidEvent(
                "bad_prediction",
                f"prediction has {leaves} fields, more than {limits.max_prediction_fields}",
                "prediction",
            )
    else:
        _scalar(value, "prediction", limits, "bad_prediction")
    return value
