"""The API's event rules on top of ``drift.events.validate_event``: nesting depth and event time.

* Depth: an event nesting objects/arrays deeper than ``max_depth`` is ``too_deep`` (measured
  without recursion, before anything recurses into it; orjson cannot encode beyond 254 levels,
  which used to give 500s).
* Event time: a timestamp more than ``max_future_s`` ahead of the ingest time is
  ``timestamp_in_future``; one older than ``max_age_s`` (the span the worker keeps: recent +
  baseline) is ``timestamp_too_old``. Each distinct day would otherwise become an
  inference_logs partition. The worker applies the same rule with the same reason codes and
  settings (DRIFT_MAX_FUTURE_SECONDS, DRIFT_RECENT_SECONDS + DRIFT_BASELINE_SECONDS); the two
  are to be unified in one pure function in drift/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drift.events import EventLimits, InferenceEvent, InvalidEvent, validate_event


def deeper_than(obj: Any, limit: int) -> bool:
    """Whether ``obj`` nests containers more than ``limit`` levels (a scalar is level 0)."""
    stack: list[tuple[Any, int]] = [(obj, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth + 1 > limit:
                return True
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items if isinstance(item, dict | list))
    return False


def check_depth(obj: Any, limit: int) -> None:
    """InvalidEvent ``too_deep`` naming the top-level field that nests too deep."""
    if not isinstance(obj, dict):
        if deeper_than(obj, limit):
            raise InvalidEvent("too_deep", f"the event nests deeper than {limit} levels")
        return
    for key, value in obj.items():
        if deeper_than(value, limit - 1):
            raise InvalidEvent(
                "too_deep",
                f"{key}: nests deeper than {limit} levels (DRIFT_MAX_JSON_DEPTH)",
                str(key),
            )


def check_time(timestamp: float | None, now: float, max_future_s: float, max_age_s: float) -> None:
    """InvalidEvent when ``timestamp`` lies outside [now - max_age_s, now + max_future_s]."""
    if timestamp is None:
        return
    if timestamp > now + max_future_s:
        raise InvalidEvent(
            "timestamp_in_future",
            f"timestamp: {timestamp - now:.0f} s ahead of the ingest time; at most "
            f"{max_future_s:g} s (DRIFT_MAX_FUTURE_SECONDS)",
            "timestamp",
        )
    if timestamp < now - max_age_s:
        raise InvalidEvent(
            "timestamp_too_old",
            f"timestamp: {now - timestamp:.0f} s before the ingest time; at most {max_age_s:g} s "
            "(the retained span: DRIFT_RECENT_SECONDS + DRIFT_BASELINE_SECONDS)",
            "timestamp",
        )


@dataclass(frozen=True)
class EventRules:
    """Everything an ingested event must pass."""

    max_depth: int = 64
    max_future_s: float = 300.0
    max_age_s: float = 90_000.0
    limits: EventLimits = field(default_factory=EventLimits)

    def check(self, obj: Any, now: float) -> InferenceEvent:
        """The typed event, or InvalidEvent naming the reason and field."""
        check_depth(obj, self.max_depth)
        event = validate_event(obj, self.limits)
        check_time(event.timestamp, now, self.max_future_s, self.max_age_s)
        return event
