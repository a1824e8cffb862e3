"""Ground-truth labels: the event, its validation, and its canonical form (issue 15).

A label names the inference it belongs to by ``model_id`` and ``event_id`` and carries the true
``label`` (a class name, a number for regression, or a boolean) and optionally the time it was
observed (``timestamp``, epoch seconds or RFC 3339; default: when it was received). A label may
arrive up to ``DRIFT_LABEL_HORIZON_SECONDS`` (7 days) after its inference; later ones are counted
(``too_late``) and dropped where they are joined. A second label for the same event replaces the
first (the newest by label time; ties: the last received), so a corrected label corrects the
metrics of its window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from drift.fields import event_id as _event_id
from drift.fields import model_id as _model_id
from drift.fields import nul_message
from drift.fields import timestamp as _timestamp
from drift.schema import EventLimits, InvalidEvent

Label = str | float | bool


@dataclass(frozen=True, slots=True)
class LabelEvent:
    model_id: str
    event_id: str
    label: Label
    timestamp: float | None  # when the label was observed; None: the receiver assigns it


def _label(obj: dict[str, Any], limits: EventLimits) -> Label:
    if "label" not in obj or obj["label"] is None:
        raise InvalidEvent("missing_label", "label is required", "label")
    value = obj["label"]
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise InvalidEvent("bad_label", f"label must be finite, got {value!r}", "label")
        return float(value) if isinstance(value, float) else value
    if isinstance(value, str):
        if not value or len(value) > limits.max_string_len:
            raise InvalidEvent(
                "bad_label",
                f"label must be a string of 1-{limits.max_string_len} characters",
                "label",
            )
        if "\x00" in value:
            raise InvalidEvent("nul_character", nul_message("label"), "label")
        return value
    raise InvalidEvent(
        "bad_label",
        f"label must be a string, a number or a boolean, got {type(value).__name__}",
        "label",
    )


def validate_label(obj: Any, limits: EventLimits | None = None) -> LabelEvent:
    """The label of a decoded JSON object, or ``InvalidEvent`` naming the field."""
    limits = limits or EventLimits()
    if not isinstance(obj, dict):
        raise InvalidEvent(
            "not_an_object", f"a label must be a JSON object, got {type(obj).__name__}"
        )
    model = _model_id(obj)
    if obj.get("event_id") is None:
        raise InvalidEvent(
            "missing_event_id", "event_id is required: it names the inference", "event_id"
        )
    return LabelEvent(model, _event_id(obj, limits), _label(obj, limits), _timestamp(obj, limits))


def label_to_json(label: LabelEvent, now: float) -> dict[str, Any]:
    """Canonical form on the labels topic (an absent timestamp becomes ``now``)."""
    return {
        "model_id": label.model_id,
        "event_id": label.event_id,
        "label": label.label,
        "timestamp": label.timestamp if label.timestamp is not None else now,
    }


def label_delay_error(label_time: float, inference_time: float, horizon: float) -> str | None:
    """``too_late`` when the label came more than ``horizon`` seconds after its inference."""
    return "too_late" if label_time - inference_time > horizon else None
