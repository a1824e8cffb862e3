"""System overview (/stats) and health (/healthz)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Stats(BaseModel):
    models: int = Field(description="registered models")
    events: int = Field(description="stored inferences (estimated above 100k rows)")
    events_estimated: bool
    drift_runs: int = Field(description="drift evaluations stored (estimated above 100k rows)")
    drift_runs_estimated: bool
    open_alerts: int
    last_event_at: datetime | None = None
    last_drift_run_at: datetime | None = None
    ingest_rate_per_s: float = Field(
        description="events per second acknowledged by this API process over the last minute"
    )


class Check(BaseModel):
    ok: bool
    detail: str = ""


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    checks: dict[str, Check]
