"""Models: registry rows, per-stream status, thresholds and baseline commands."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

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
    baseline_mode: str = Field(examples=["rolling"])
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
