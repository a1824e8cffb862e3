"""Alert hysteresis as a pure state machine.

An alert opens after ``open_after`` consecutive ``drift`` evaluations and resolves after
``resolve_after`` consecutive ``ok`` ones; ``insufficient_data`` neither counts nor breaks a
streak. One state per (model, stream) or (model, stream, metric): the caller keys it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Transition = Literal["open", "resolve"]


@dataclass(frozen=True, slots=True)
class AlertState:
    open: bool = False
    drift_streak: int = 0
    ok_streak: int = 0


@dataclass(frozen=True, slots=True)
class Hysteresis:
    open_after: int = 1
    resolve_after: int = 3

    def __post_init__(self) -> None:
        if self.open_after < 1 or self.resolve_after < 1:
            raise ValueError("open_after and resolve_after must be >= 1")


def step(
    state: AlertState, status: str, rule: Hysteresis = Hysteresis()
) -> tuple[AlertState, Transition | None]:
    """The next state after one evaluation with ``status``, and the transition it caused."""
    if status == "insufficient_data":
        return state, None
    if status == "drift":
        streak = state.drift_streak + 1
        opens = not state.open and streak >= rule.open_after
        return AlertState(state.open or opens, streak, 0), "open" if opens else None
    if status == "ok":
        streak = state.ok_streak + 1
        resolves = state.open and streak >= rule.resolve_after
        return AlertState(state.open and not resolves, 0, streak), "resolve" if resolves else None
    raise ValueError(f"unknown status {status!r}; expected 'ok', 'drift' or 'insufficient_data'")
