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


# The values a threshold of each metric can meaningfully take (a threshold outside never or
# always fires): divergences and distances are >= 0, bounded scores stay in their range. The
# unbounded ones stop at MAX_DIVERGENCE: the smoothed histograms never score that high, so a
# larger threshold (1e308) could only switch detection off unnoticed.
MAX_DIVERGENCE = 1000.0
METRIC_RANGES: dict[str, tuple[float, float]] = {
    "kl_divergence": (0.0, MAX_DIVERGENCE),
    "cosine_similarity": (-1.0, 1.0),
    "psi": (0.0, MAX_DIVERGENCE),
    "js_distance": (0.0, 1.0),
    "hellinger": (0.0, 1.0),
    "wasserstein": (0.0, MAX_DIVERGENCE),
    "ks_statistic": (0.0, 1.0),
    "chi2_pvalue": (0.0, 1.0),
}


def threshold_problem(metric: str, value: float) -> str | None:
    """Why ``value`` is no threshold of ``metric``; None when it is one."""
    if not math.isfinite(value):
        return "must be finite"
    low, high = METRIC_RANGES[metric]
    return None if low <= value <= high else f"must be in [{low:g}, {high:g}]"


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
                problem = threshold_problem(metric, threshold)
                if problem:
                    raise ValueError(f"{stream}.{metric}: threshold {threshold!r} {problem}")
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


class KeySlots(BaseModel):
    key_id: str = Field(description="hash prefix of the API key ('local' without keys)")
    admitted: int = Field(description="active models admitted under this key")
    quota: int = Field(description="DRIFT_MODELS_PER_KEY")
    free: int = Field(description="models this key may still add")
    last_seen_at: datetime | None = None


class AdmissionSlots(BaseModel):
    """Model admission at a glance: quotas, active models, free slots per key."""

    max_models: int = Field(description="DRIFT_MAX_MODELS: active models over all keys")
    models_per_key: int = Field(description="DRIFT_MODELS_PER_KEY")
    idle_evict_seconds: int = Field(description="a model idle this long frees its slot")
    admitted: int
    free: int
    keys: list[KeySlots]
