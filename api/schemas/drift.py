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
METRICS: tuple[str, ...] = get_args(Metric)  # the policy's metrics (thresholds)
VectorMetric = Literal[  # of vector streams (embedding.<name>, multivariate): no thresholds
    "cosine_distance",
    "sliced_wasserstein",
    "drifted_projections",
    "mean_shift",
    "correlation_shift",
]
RunMetric = Literal[Metric, VectorMetric]  # one flat Literal: a bad value names `metric`
RUN_METRICS: tuple[str, ...] = get_args(RunMetric)  # drift_runs columns
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
    "rule": "calibrated",
    "p_value": 2.1e-7,
    "q_value": 8.4e-7,
    "score": 6.68,
    "limit": 2.6,
    "limits": {"kl_divergence": 0.0042, "psi": 0.0085, "ks_statistic": None},
    "test": "share@fresh",
    "effect": 0.12,
    "null_center": 11.3,
    "null_spread": 5.2,
    "subwindows": 23,
    "new_categories": {"count": 0, "share": 0.0},
}


class Quality(BaseModel):
    """Data-quality signals of the stream at this window end (docs/architecture.md)."""

    issues: list[Literal["missing", "out_of_range", "new_category", "appeared", "vanished"]] = (
        Field(description="issues found (empty: none)", examples=[["missing"]])
    )
    missing_share: float = Field(description="share of missing values in the recent window")
    baseline_missing_share: float = Field(description="the same in the baseline")
    out_of_range_share: float | None = Field(
        default=None, description="numeric: share of recent values outside the baseline's range"
    )
    new_category_share: float | None = Field(
        default=None, description="categorical: share in categories the baseline never had"
    )
    schema_change: Literal["appeared", "vanished"] | None = Field(
        default=None, alias="schema", description="the stream appeared or vanished"
    )
    p_values: dict[str, float] = Field(default_factory=dict, description="{test: p-value}")


class NewCategories(BaseModel):
    count: int = Field(description="recent values of categories the baseline never had")
    share: float = Field(description="their share of the recent window")


class DriftRun(BaseModel):
    """Recent window vs baseline for one stream of one model."""

    model_config = ConfigDict(json_schema_extra={"examples": [RUN_EXAMPLE]})
    id: int
    model_id: str
    stream: str
    stream_kind: str = Field(description="numeric, categorical or vector")
    window_start: datetime
    window_end: datetime
    baseline_start: datetime | None = None
    baseline_end: datetime | None = None
    baseline_mode: str = Field(
        description="rolling, seasonal (same time of day on previous days), pinned, or frozen "
        "(the baseline as it was when the stream's alert opened)"
    )
    status: str
    kl_divergence: float | None = None
    cosine_similarity: float | None = None
    psi: float | None = None
    js_distance: float | None = None
    hellinger: float | None = None
    wasserstein: float | None = None
    ks_statistic: float | None = None
    chi2_pvalue: float | None = None
    cosine_distance: float | None = Field(
        default=None, description="vector streams: 1 - cosine similarity of the mean vectors"
    )
    sliced_wasserstein: float | None = Field(
        default=None, description="vector streams: mean normed Wasserstein over the projections"
    )
    drifted_projections: float | None = Field(
        default=None, description="vector streams: share of projections with p <= the FDR"
    )
    mean_shift: float | None = Field(
        default=None, description="vector streams: diagonal Mahalanobis distance of the means"
    )
    correlation_shift: float | None = Field(
        default=None, description="multivariate: the largest change of a correlation"
    )
    recent_count: int
    baseline_count: int
    drifted_metrics: list[str]
    computed_at: datetime
    rule: Literal["calibrated", "fixed"] | None = Field(
        default=None,
        description="how status was decided: calibrated (p-value against the model's "
        "Benjamini-Hochberg cut-off plus a minimum effect) or fixed (each metric against its "
        "limit); null for runs stored before verdicts were recorded",
    )
    p_value: float | None = Field(
        default=None, description="calibrated p-value of the deciding test (null: fixed rule)"
    )
    q_value: float | None = Field(
        default=None, description="Benjamini-Hochberg adjusted p-value across the model's streams"
    )
    score: float | None = Field(
        default=None,
        description="-log10 p_value (fixed rule: the largest value/limit ratio); drift when "
        "score >= limit and effect is at least the minimum effect",
    )
    limit: float | None = Field(
        default=None, description="-log10 of the Benjamini-Hochberg cut-off (fixed rule: 1)"
    )
    limits: dict[str, float | None] | None = Field(
        default=None,
        description="each metric's limit in its own units (threshold lines); null where the "
        "rule has none for that metric",
    )
    test: str | None = Field(
        default=None, description="the test that decided, e.g. trend@fresh", examples=["g"]
    )
    effect: float | None = Field(
        default=None, description="total variation distance of recent and baseline bins"
    )
    null_center: float | None = Field(
        default=None, description="mean of the G statistic under the calibrated null"
    )
    null_spread: float | None = Field(
        default=None, description="standard deviation of G under the calibrated null"
    )
    subwindows: int | None = Field(
        default=None, description="baseline sub-windows that calibrated the null"
    )
    new_categories: NewCategories | None = None
    quality: Quality | None = Field(
        default=None, description="data-quality signals (null before migration 008)"
    )
    resolution: Literal["window", "hour"] = Field(
        default="window",
        description="window: one evaluation; hour: the roll-up of an hour's evaluations older "
        "than DRIFT_RUNS_ROLLUP_DAYS (window_end: the hour's end; metrics: the hour's worst "
        "values; status: its worst status; counts: its largest window's; no bins or limits)",
    )
    runs: int | None = Field(default=None, description="evaluations rolled into an hourly row")
    drifted_runs: int | None = Field(default=None, description="of which drifted")
    value: float | None = Field(default=None, description="the requested metric (history ?metric=)")


class DriftLatest(BaseModel):
    items: list[DriftRun] = Field(description="latest run per (model, stream)")


class DriftHistory(Page):
    items: list[DriftRun] = Field(description="newest first (window_end, id descending)")
