"""Models: registry rows, per-stream status, thresholds and baseline commands."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from api.params import NO_NUL
from api.schemas.common import Page
from api.schemas.drift import METRICS, DriftRun

THRESHOLDS_EXAMPLE: dict[str, Any] = {
    "*": {"kl_divergence": 0.2, "cosine_similarity": 0.85},
    "feature1": {"psi": 0.25},
}


class Model(BaseModel):
    model_id: str = Field(examples=["1"])
    display_name: str | None = None
    thresholds: dict[str, dict[str, float]] = Field(
        description="per-stream overrides; '*' applies to every stream",
        examples=[THRESHOLDS_EXAMPLE],
    )
    baseline_mode: str = Field(
        description="what the model is judged against: pinned, else its unpinned mode",
        examples=["rolling"],
    )
    unpinned_mode: Literal["rolling", "seasonal"] = Field(
        default="rolling",
        description="rolling (the span before the recent window) or seasonal (the same time "
        "of day on previous days); PUT /models/{id}/baseline-mode",
    )
    first_seen_at: datetime
    last_seen_at: datetime
    updated_at: datetime


class ModelPage(Page):
    items: list[Model] = Field(description="ordered by model_id")


class ModelDetail(Model):
    streams: list[DriftRun] = Field(description="latest drift run per stream seen")


class Thresholds(RootModel[dict[str, dict[str, float]]]):
    """``{stream or "*": {metric: threshold}}``; metrics are the drift statistics' names."""

    model_config = ConfigDict(json_schema_extra={"examples": [THRESHOLDS_EXAMPLE]})

    @field_validator("root")
    @classmethod
    def _known_metrics(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for stream, per_metric in value.items():
            if not stream or len(stream) > 256 or "\x00" in stream:
                raise ValueError(f"invalid stream name {stream!r}")
            for metric, threshold in per_metric.items():
                if metric not in METRICS:
                    raise ValueError(
                        f"{stream}.{metric}: unknown metric (one of {', '.join(METRICS)})"
                    )
                if not math.isfinite(threshold):
                    raise ValueError(f"{stream}.{metric}: threshold must be finite")
        return value


class BaselineCommand(BaseModel):
    """The answer to a pin/unpin: the command was published to the worker."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"model_id": "1", "action": "pin_baseline", "status": "accepted"}]
        }
    )
    model_id: str
    action: str
    status: str = "accepted"


class AcceptChange(BaseModel):
    """Accept a change as the new normal: the worker drops the frozen baseline of ``stream``
    (every frozen stream of the model when null), which then rolls on over the changed data."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"stream": "input.country", "by": "ana"}]}
    )
    stream: str | None = Field(
        default=None, min_length=1, max_length=256, pattern=NO_NUL, description="null: all"
    )
    by: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
        description="who accepts (default: the API key's name, or 'api')",
    )


class AcceptCommand(BaseModel):
    """The answer to an accept: ``accept_change`` was published to the worker."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model_id": "1",
                    "action": "accept_change",
                    "stream": "input.country",
                    "by": "ana",
                    "status": "accepted",
                }
            ]
        }
    )
    model_id: str
    action: str = "accept_change"
    stream: str | None
    by: str
    status: str = "accepted"


class BaselineMode(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"mode": "seasonal"}]}
    )
    mode: Literal["rolling", "seasonal"] = Field(
        description="rolling: the span before the recent window; seasonal: the same time of day "
        "on each of the previous days the worker keeps (DRIFT_SEASONAL_DAYS)"
    )


class BaselineModeCommand(Model):
    """The model after a baseline-mode change; ``set_baseline_mode`` was published."""

    action: str = "set_baseline_mode"
    status: str = "accepted"


class AcceptedChange(BaseModel):
    id: int
    model_id: str
    streams: list[str] = Field(description="streams whose frozen baseline was dropped")
    accepted_by: str
    accepted_at: datetime = Field(description="when the worker applied it")


class AcceptedPage(Page):
    items: list[AcceptedChange] = Field(description="newest first (accepted_at, id descending)")
