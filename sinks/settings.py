"""Sinks settings: one pydantic-settings class, env prefix ``DRIFT_``, local defaults.

The sinks read the same ``DRIFT_*`` variables as the worker wherever both need a value (Kafka,
PostgreSQL, topic prefix, app id, the event-time bounds of stored inferences), so one
environment configures both; the worker hands its own settings to its sinks child
(``sinks.process.settings_env``).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SharedSettings(BaseSettings):
    """The ``DRIFT_*`` values the worker (``stream_app.config.WorkerSettings``) and its sinks both
    read: defined once, so the two cannot disagree on a default."""

    model_config = SettingsConfigDict(env_prefix="DRIFT_", env_file=".env", extra="ignore")

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers")
    topic_prefix: str = Field("", description="prefix for every topic name (several deployments)")
    app_id: str = Field(
        "driftmon",
        description="the worker's consumer group and changelog prefix "
        "(<app_id>-model-state-changelog), the prefix of the sinks' groups (<app_id>-results-sink)",
    )
    database_url: str = Field(
        "postgresql://driftmon@127.0.0.1:5432/driftmon", description="PostgreSQL of the sinks"
    )
    recent_seconds: int = Field(3600, ge=1, description="recent window span (event time)")
    baseline_seconds: int = Field(86400, ge=1, description="rolling baseline span before recent")
    max_future_seconds: float = Field(
        300.0,
        ge=0,
        description="events timed more than this after their record's broker time are refused "
        "(timestamp_in_future) and not stored: one far-future event would move the watermark "
        "past all others",
    )
    max_event_age_seconds: float | None = Field(
        None,
        ge=0,
        description="events timed more than this before their record's broker time are refused "
        "(timestamp_too_old) and not stored; unset: recent + baseline (the retained span); 0: no "
        "bound (backfills of history)",
    )
    dedup_horizon_seconds: int = Field(
        3600,
        ge=0,
        description="an explicit event_id counted in a bucket this close in event time is "
        "counted (and stored) once (HTTP/SDK retries, replays); ids are kept while their bucket "
        "is within this much of the watermark",
    )
    inference_logs_enabled: bool = Field(True, description="store raw inferences")
    labels_enabled: bool = Field(True, description="store the labels topic and judge performance")
    sink_lag_seconds: float = Field(
        15.0, ge=0, description="how often each sink's backlog is measured (0: never)"
    )
    web_host: str = Field("127.0.0.1", description="interface /metrics listens on")
    fdr: float = Field(
        0.001,
        gt=0,
        lt=1,
        description="false-discovery rate of the drift verdicts across a model's streams "
        "(calibrated rule) and of its performance verdicts",
    )
    max_models: int = Field(
        1000,
        ge=1,
        description="models held per worker (more are rejected) and models with label and "
        "performance series in the sinks",
    )

    def event_age_bound(self) -> float:
        """``max_event_age_seconds`` resolved: the retained span when unset."""
        if self.max_event_age_seconds is None:
            return float(self.recent_seconds + self.baseline_seconds)
        return self.max_event_age_seconds


class SinkSettings(SharedSettings):
    # inference_logs
    inference_logs_sample_rate: float = Field(1.0, ge=0, le=1, description="share stored")
    # retention (sinks.retention)
    log_retention_days: int = Field(
        14, ge=1, description="inference_logs daily partitions older than this are dropped"
    )
    runs_rollup_days: int = Field(
        30, ge=1, description="drift_runs older than this are rolled up into hourly rows"
    )
    retention_interval_seconds: float = Field(
        3600.0, ge=0, description="how often the retention job runs (0: never)"
    )
    # lag, metrics, annotations; labels and model performance (docs/architecture.md, "Performance")
    label_horizon_seconds: float = Field(
        7 * 86400.0, gt=0, description="labels later than this after their inference: too_late"
    )
    performance_interval_seconds: float = Field(
        30.0,
        ge=0,
        description="how often the sinks recompute dirty windows and verdicts (0: never)",
    )
    performance_window_seconds: int = Field(
        3600, ge=60, description="window of inference event time performance is computed for"
    )
    performance_grace_seconds: float = Field(
        3600.0, ge=0, description="how long a label whose inference is not logged is looked for"
    )
    performance_baseline_windows: int = Field(
        24, ge=2, description="windows before the judged one its accuracy is compared with"
    )
    performance_min_labelled: int = Field(
        100, ge=1, description="fewer labels in a window (or its baseline): insufficient_data"
    )
    performance_min_drop: float = Field(
        0.02, ge=0, description="smallest accuracy drop (fraction) that can be degraded"
    )
    sinks_web_port: int = Field(
        6067, ge=0, description="port of the sinks' /metrics (0: none; a port in use: none)"
    )
    grafana_url: str = Field("", description="annotate alert transitions in Grafana when set")
    grafana_token: str = Field("", description="Grafana service account token")


def from_worker(values: Mapping[str, object]) -> SinkSettings:
    """The sinks settings of a worker's settings (``WorkerSettings.model_dump()``): the values
    both have come from the worker, the others from the environment."""
    shared = {k: v for k, v in values.items() if k in SinkSettings.model_fields}
    return SinkSettings(**shared)  # type: ignore[arg-type]
