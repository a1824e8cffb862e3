"""Drift results: one drift_runs row per (model, stream, window end)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Page

Metric = Literal[
    "kl_divergence",
    "cosine_similarity",
    "psi",
    "js_distance",
    "hellinger",
    "wasserstein",
    "ks_statistic",
    "chi2_pvalue",
]
METRICS: tuple[str, ...] = get_args(Metric)
Status = Literal["ok", "drift", "insufficient_data"]

RUN_EXAMPLE: dict[str, Any] = {
    "id": 42,
    "model_id": "1",
    "stream": "prediction.class",
    "stream_kind": "categorical",
    "window_start": "2026-11-26T09:00:00Z",
    "window_end": "2026-11-26T10:00:00Z",
    "baseline_mode": "rolling",
    "status": "drift",
    "kl_divergence": 0.21,
    "cosine_similarity": 0.85,
    "recent_count": 1200,
    "baseline_count": 28000,
    "drifted_metrics": ["kl_divergence", "cosine_similarity"],
}


class DriftRun(BaseModel):
    """Recent window vs baseline for one stream of one model."""

    model_config = ConfigDict(json_schema_extra={"examples": [RUN_EXAMPLE]})
    id: int
    model_id: str
    stream: str
    stream_kind: str
    window_start: datetime
    window_end: datetime
    baseline_start: datetime | None = None
    baseline_end: datetime | None = None
    baseline_mode: str
    status: str
    kl_divergence: float | None = None
    cosine_similarity: float | None = None
    psi: float | None = None
    js_distance: float | None = None
    hellinger: float | None = None
    wasserstein: float | None = None
    ks_statistic: float | None = None
    chi2_pvalue: float | None = None
    recent_count: int
    baseline_count: int
    drifted_metrics: list[str]
    computed_at: datetime
    value: float | None = Field(default=None, description="the requested metric (history ?metric=)")


class DriftLatest(BaseModel):
    items: list[DriftRun] = Field(description="latest run per (model, stream)")


class DriftHistory(Page):
    items: list[DriftRun] = Field(description="newest first (window_end, id descending)")
