"""Bounded event time: the one rule the worker and the ingest API apply to an event's timestamp.

An event's own timestamp drives its model's watermark. Unbounded, one event stamped in 2286
moves the watermark there and every later event is dropped as late; one stamped 1970 is
counted in no window. So an event is refused when its time lies more than ``max_future``
seconds after ``now`` (the broker's timestamp of its record in the worker, the receive time in
the API) or more than ``max_age`` seconds before it (the worker's retained span, recent plus
baseline: older events would only be dropped as late).
"""

from __future__ import annotations

TIMESTAMP_IN_FUTURE = "timestamp_in_future"
TIMESTAMP_TOO_OLD = "timestamp_too_old"


def event_time_error(ts: float, now: float, max_future: float, max_age: float) -> str | None:
    """The refusal reason for an event at ``ts`` seen at ``now``, or None when it is accepted:
    ``timestamp_in_future`` when ``ts > now + max_future``, ``timestamp_too_old`` when
    ``ts < now - max_age``. Both bounds are inclusive on the accepted side."""
    if ts > now + max_future:
        return TIMESTAMP_IN_FUTURE
    if ts < now - max_age:
        return TIMESTAMP_TOO_OLD
    return None
