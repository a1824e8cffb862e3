"""Model performance per window: realised from labels, estimated without them (CBPE)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class PerformanceWindow(BaseModel):
    """One window (by inference event time) of ``performance_windows``; re-computed as late
    labels arrive, so a window's figures may still change while ``labelled_share`` grows."""

    window_start: datetime
    window_end: datetime
    task: Literal["classification", "regression"]
    inferences: int = Field(description="inferences logged in the window")
    labelled: int = Field(description="of them with a label that arrived within the horizon")
    too_late: int = Field(description="labels later than DRIFT_LABEL_HORIZON (not used)")
    labelled_share: float = Field(
        description="labelled / inferences: how complete the realised figures are", ge=0, le=1
    )
    accuracy: float | None = Field(None, description="realised, classification")
    log_loss: float | None = Field(None, description="from `confidence`, classification")
    ece: float | None = Field(None, description="expected calibration error of `confidence`")
    mae: float | None = Field(None, description="regression")
    rmse: float | None = Field(None, description="regression")
    bias: float | None = Field(None, description="regression: mean(prediction - label)")
    per_class: dict[str, dict[str, float]] | None = Field(
        None, description="{class: {precision, recall, f1, support}}"
    )
    confusion: dict[str, dict[str, int]] | None = Field(
        None, description="{true class: {predicted class: count}}"
    )
    estimated_accuracy: float | None = Field(
        None, description="label-free estimate from the confidence distribution (CBPE)"
    )
    estimated_confusion: dict[str, Any] | None = Field(
        None, description="binary classifiers: expected tp, fp, tn, fn"
    )
    computed_at: datetime


class PerformanceHistory(BaseModel):
    model_id: str
    items: list[PerformanceWindow] = Field(description="windows, oldest first")
