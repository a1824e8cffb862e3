"""The messages between the worker, the sinks and the API, as typed records (one module).

``DriftResult`` (``drift-results``), ``AlertTransition`` (``drift-alerts``), the worker's
``PinRecord`` / ``UnpinRecord`` / ``AcceptRecord`` (``drift-baselines``) and the control
commands ``PinBaseline``, ``UnpinBaseline``, ``SetThresholds``, ``AcceptChange`` and
``SetBaselineMode`` (``drift-control``). Frozen dataclasses: ``orjson.dumps`` writes them as
JSON objects with the fields in the order given here, which is the wire contract of
docs/architecture.md ("Drift results", "Control topic"). ``parse_command`` reads a decoded
control message back and raises ``InvalidCommand`` (a ``ValueError``) naming what is wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from drift.fields import is_model_name

BASELINE_MODES = ("rolling", "seasonal")


class _Message:
    """Read access by field name too (``message["model_id"]``), as the JSON reads."""

    __slots__ = ()

    def __getitem__(self, name: str) -> Any:
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None


@dataclass(frozen=True, slots=True)
class DriftResult(_Message):
    model_id: str
    stream: str
    stream_kind: str
    window_start: int
    window_end: int
    baseline_start: int
    baseline_end: int
    baseline_mode: str
    status: str
    metrics: dict[str, float]
    drifted_metrics: list[str]
    recent_count: int
    baseline_count: int
    rule: str
    p_value: float | None
    q_value: float | None
    score: float | None
    limit: float | None
    limits: dict[str, float | None]
    test: str | None
    effect: float | None
    null_center: float | None
    null_spread: float | None
    subwindows: int
    new_categories: dict[str, float]  # {"count", "share"}
    bins: dict[str, list[Any]] | None  # {"labels", "recent", "baseline"}


@dataclass(frozen=True, slots=True)
class AlertTransition(_Message):
    model_id: str
    stream: str
    metric: str
    transition: str  # "open" | "resolve"
    at: int
    severity: str
    value: float
    threshold: float | None
    trigger_metric: str
    drifted_metrics: list[str]
    message: str


@dataclass(frozen=True, slots=True)
class PinRecord(_Message):
    action: str = field(init=False, default="pin")
    model_id: str
    window_start: int
    window_end: int
    pinned_at: float
    histograms: dict[str, str]  # stream -> serialised histogram, hex


@dataclass(frozen=True, slots=True)
class UnpinRecord(_Message):
    action: str = field(init=False, default="unpin")
    model_id: str


@dataclass(frozen=True, slots=True)
class AcceptRecord(_Message):
    action: str = field(init=False, default="accept")
    model_id: str
    streams: list[str]
    by: str
    accepted_at: float


BaselineRecord = PinRecord | UnpinRecord | AcceptRecord


@dataclass(frozen=True, slots=True)
class PinBaseline(_Message):
    action: str = field(init=False, default="pin_baseline")
    model_id: str
    requested_at: float | None = None


@dataclass(frozen=True, slots=True)
class UnpinBaseline(_Message):
    action: str = field(init=False, default="unpin_baseline")
    model_id: str
    requested_at: float | None = None


@dataclass(frozen=True, slots=True)
class SetThresholds(_Message):
    action: str = field(init=False, default="set_thresholds")
    model_id: str
    requested_at: float | None = None
    thresholds: dict[str, Any] = field(default_factory=dict)  # {stream or "*": {metric: v}}


@dataclass(frozen=True, slots=True)
class AcceptChange(_Message):
    action: str = field(init=False, default="accept_change")
    model_id: str
    requested_at: float | None = None
    stream: str | None = None  # None: every frozen stream
    by: str | None = None


@dataclass(frozen=True, slots=True)
class SetBaselineMode(_Message):
    action: str = field(init=False, default="set_baseline_mode")
    model_id: str
    requested_at: float | None = None
    mode: str = "rolling"


Command = PinBaseline | UnpinBaseline | SetThresholds | AcceptChange | SetBaselineMode
_COMMANDS: dict[str, type[Command]] = {
    c.__dataclass_fields__["action"].default: c  # type: ignore[misc]
    for c in (PinBaseline, UnpinBaseline, SetThresholds, AcceptChange, SetBaselineMode)
}


class InvalidCommand(ValueError):
    """A control message that is not a valid command; the message names the field."""


def _text(obj: dict[str, Any], name: str, longest: int) -> str | None:
    value = obj.get(name)
    if value is None or (isinstance(value, str) and len(value) <= longest):
        return value
    raise InvalidCommand(f"{name} must be a string of at most {longest} characters or null")


def parse_command(obj: Any) -> Command:
    """The typed command of a decoded ``drift-control`` message."""
    if not isinstance(obj, dict):
        raise InvalidCommand(f"a command must be a JSON object, got {type(obj).__name__}")
    action = obj.get("action")
    kind = _COMMANDS.get(action) if isinstance(action, str) else None
    if kind is None:
        raise InvalidCommand(f"unknown action {action!r:.80}: expected one of {sorted(_COMMANDS)}")
    model_id = obj.get("model_id")
    if isinstance(model_id, int) and not isinstance(model_id, bool) and model_id >= 0:
        model_id = str(model_id)
    if not isinstance(model_id, str) or not is_model_name(model_id):
        raise InvalidCommand(f"{action}: invalid model_id {model_id!r:.80}")
    at = obj.get("requested_at")
    if at is not None and (
        isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at)
    ):
        raise InvalidCommand(f"{action}: requested_at must be epoch seconds, got {at!r:.80}")
    at = None if at is None else float(at)
    if kind is SetThresholds:
        thresholds = obj.get("thresholds") or {}
        if not isinstance(thresholds, dict):
            raise InvalidCommand("set_thresholds: thresholds must be an object")
        return SetThresholds(model_id, at, thresholds)
    if kind is AcceptChange:
        return AcceptChange(model_id, at, _text(obj, "stream", 512), _text(obj, "by", 10_000))
    if kind is SetBaselineMode:
        mode = obj.get("mode")
        if mode not in BASELINE_MODES:
            raise InvalidCommand(f"set_baseline_mode: mode must be one of {BASELINE_MODES}")
        return SetBaselineMode(model_id, at, mode)
    return kind(model_id, at)
