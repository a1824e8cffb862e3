"""Validators of single event fields; each returns the normalised value or raises InvalidEvent."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from drift.schema import EventLimits, InvalidEvent

_MODEL_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def is_model_name(value: str) -> bool:
    return _MODEL_ID.fullmatch(value) is not None


def model_id(obj: dict[str, Any]) -> str:
    value = obj.get("model_id")
    if value is None:
        raise InvalidEvent("missing_model_id", "model_id is required", "model_id")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return str(value)
    if isinstance(value, str) and _MODEL_ID.fullmatch(value):
        return value
    raise InvalidEvent(
        "bad_model_id",
        "model_id must be a non-negative integer or a name of 1-64 [A-Za-z0-9._-], "
        f"got {value!r:.80}",
        "model_id",
    )


def event_id(obj: dict[str, Any], limits: EventLimits, default: str | None = None) -> str:
    """The event's id; when absent ``default`` (deterministic, e.g. from the record's
    partition and offset, so a replay gets the same id) or else a random uuid4."""
    value = obj.get("event_id")
    if value is None:
        return default if default is not None else uuid.uuid4().hex
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and 0 < len(value) <= limits.max_id_len:
        if "\x00" in value:
            raise InvalidEvent("nul_character", nul_message("event_id"), "event_id")
        return value
    raise InvalidEvent(
        "bad_event_id",
        f"event_id must be a string of 1-{limits.max_id_len} characters, "
        f"got {_kind(value)} {value!r:.80}",
        "event_id",
    )


def _parse_time(value: str) -> float:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:  # RFC 3339 requires an offset; read a naive time as UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def timestamp(obj: dict[str, Any], limits: EventLimits) -> float | None:
    value = obj.get("timestamp")
    if value is None:
        return None
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and len(value) <= 64:
        try:
            seconds = _parse_time(value)
        except (ValueError, OverflowError):
            seconds = None
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        raise InvalidEvent(
            "bad_timestamp",
            f"timestamp must be RFC 3339 or non-negative epoch seconds, got {value!r:.80}",
            "timestamp",
        )
    if seconds > limits.max_timestamp:
        raise InvalidEvent(
            "bad_timestamp",
            f"timestamp {value!r} is beyond {limits.max_timestamp:.0f}: "
            "send seconds, not milliseconds",
            "timestamp",
        )
    return seconds


def confidence(obj: dict[str, Any]) -> float | None:
    value = obj.get("confidence")
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0:
        return float(value)
    raise InvalidEvent(
        "bad_confidence", f"confidence must be a number in [0, 1], got {value!r:.80}", "confidence"
    )


def nul_message(where: str) -> str:
    return f"{where}: strings must not contain NUL (U+0000), which PostgreSQL cannot store"


def _tree_error(value: Any, max_depth: int) -> str | None:
    """``too_deep`` or ``nul_character`` for a JSON value nested deeper than ``max_depth`` or
    holding a NUL in a string or key; None when fine. Iterative: a value nested hundreds deep
    must give a reason, not a RecursionError."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "nul_character"
            continue
        if isinstance(item, dict):
            if any("\x00" in k for k in item):
                return "nul_character"
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > max_depth:
                    return "too_deep"
                stack.append((child, depth + 1))
            elif isinstance(child, str):
                stack.append((child, depth))
    return None


def metadata(obj: dict[str, Any], max_depth: int) -> dict[str, Any]:
    value = obj.get("metadata")
    if value is None:
        return {}
    if isinstance(value, dict):
        problem = _tree_error(value, max_depth)
        if problem == "nul_character":
            raise InvalidEvent("nul_character", nul_message("metadata"), "metadata")
        if problem == "too_deep":
            raise InvalidEvent("too_deep", f"metadata: nesting deeper than {max_depth}", "metadata")
        return value
    raise InvalidEvent(
        "bad_metadata", f"metadata must be an object, got {_kind(value)}", "metadata"
    )
