"""Worker settings: one pydantic-settings class, env prefix ``DRIFT_``, local defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DRIFT_", env_file=".env", extra="ignore")

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers")
    topic_prefix: str = Field("", description="prefix for every topic name (several deployments)")
    partitions: int = Field(8, ge=1, description="partitions of the topics the worker declares")
    app_id: str = Field(
        "driftmon",
        description="consumer group and changelog prefix (<app_id>-model-state-changelog)",
    )
    database_url: str = Field(
        "postgresql://driftmon@127.0.0.1:5432/driftmon", description="PostgreSQL for the sinks"
    )
    # event-time windows (seconds)
    bucket_seconds: int = Field(300, ge=1, description="bucket size; evaluation cadence")
    recent_seconds: int = Field(3600, ge=1, description="recent window span")
    baseline_seconds: int = Field(86400, ge=1, description="rolling baseline span before recent")
    lateness_seconds: int = Field(60, ge=0, description="a bucket closes at end + lateness")
    idle_close_seconds: float = Field(
        120.0, gt=0, description="wall-clock idleness after which a model's open bucket closes"
    )
    max_future_seconds: float = Field(
        300.0,
        ge=0,
        description="events timed more than this after their record's broker time are refused "
        "(timestamp_in_future): one far-future event would move the watermark past all others",
    )
    max_event_age_seconds: float | None = Field(
        None,
        ge=0,
        description="events timed more than this before their record's broker time are refused "
        "(timestamp_too_old); unset: recent + baseline (the retained span); 0: no bound "
        "(backfills of history)",
    )
    max_evaluations_per_advance: int = Field(
        24,
        ge=1,
        description="window evaluations one event may cause: those holding its bucket in their "
        "recent part (at most all but one), then the window jumps past the gap to the next "
        "data or the last ones (sparse events never multiply drift_runs rows; dense data and "
        "delivery holes still have every window with recent data evaluated)",
    )
    dedup_horizon_seconds: int = Field(
        3600,
        ge=0,
        description="an explicit event_id counted in a bucket this close in event time is "
        "counted once (HTTP/SDK retries, replays); ids are kept while their bucket is within "
        "this much of the watermark",
    )
    dedup_max_ids_per_bucket: int = Field(
        60_000,
        ge=0,
        description="event-id hashes one bucket remembers (8 bytes each in its changelog "
        "record, which must stay under Kafka's 1 MB message limit with the histograms; later ids "
        "of a fuller bucket are not de-duplicated; 0: no id dedup)",
    )
    model_idle_evict_seconds: float = Field(
        7 * 86400.0,
        ge=0,
        description="a model with no event for this long (wall clock) has its state deleted "
        "and its slot freed; 0: never",
    )
    # detection
    min_recent: int = Field(200, ge=1, description="fewer recent samples → insufficient_data")
    min_baseline: int = Field(1000, ge=1, description="fewer baseline samples → insufficient_data")
    n_bins: int = Field(10, ge=2, description="quantile bins of the baseline")
    relative_accuracy: float = Field(0.01, gt=0, lt=1, description="numeric bucket width")
    max_categories: int = Field(100, ge=2, description="distinct values kept per categorical")
    detection_rule: Literal["calibrated", "fixed"] = Field(
        "calibrated",
        description="calibrated: p-values against the baseline's own sub-windows, FDR across a "
        "model's streams; fixed: the seed's fixed limits (KL > 0.1, cosine < 0.9, ...)",
    )
    fdr: float = Field(
        0.001, gt=0, lt=1, description="false-discovery rate across a model's streams (calibrated)"
    )
    min_effect: float = Field(
        0.02, ge=0, description="smallest share of mass moved (total variation) that can drift"
    )
    fresh_buckets: list[int] = Field(
        [3, 6],
        description="sizes (buckets) of the newest parts of recent also tested alone (fast on "
        "sudden shifts; JSON list, e.g. [3, 6]; [] turns it off)",
    )
    freeze_drifted: bool = Field(
        True,
        description="a stream in alert keeps the baseline it had when the alert opened, until "
        "it resolves or the change is accepted (a persisting shift stays visible)",
    )
    seasonal_days: int = Field(
        7, ge=1, le=28, description="days of hourly roll-ups kept for seasonal baselines"
    )
    alert_open_after: int = Field(
        3, ge=1, description="consecutive drifted evaluations before an alert opens"
    )
    alert_resolve_after: int = Field(3, ge=1, description="ok evaluations before it resolves")
    # limits (bounded state and series)
    max_models: int = Field(1000, ge=1, description="models held per worker; more are rejected")
    max_streams_per_model: int = Field(200, ge=1, description="streams kept per model")
    # batching
    batch_size: int = Field(2000, ge=1, description="records taken per consume() call")
    batch_within: float = Field(0.5, gt=0, description="seconds consume() waits to fill a batch")
    batch_max_bytes: int = Field(
        4_000_000, ge=1, description="record bytes decoded at once (bounds a batch's memory)"
    )
    # transactions (exactly-once: docs/architecture.md)
    commit_interval_seconds: float = Field(
        0.5, gt=0, description="a transaction (state, outputs, input offsets) commits this often"
    )
    commit_max_records: int = Field(
        20_000, ge=1, description="... or once it holds this many input records"
    )
    transaction_timeout_seconds: float = Field(
        60.0,
        ge=1,
        description="transaction.timeout.ms: the broker aborts a transaction open this long (a "
        "stalled or killed worker's), which also bounds how long a restore waits for it",
    )
    transactional_id: str = Field(
        "", description="the producer's transactional.id; empty: <app_id>-<hostname>-<web_port>"
    )
    session_timeout_seconds: float = Field(
        45.0, gt=0, description="consumer group session timeout (a dead worker's partitions move)"
    )
    # sinks
    sinks_enabled: bool = Field(
        True, description="the worker starts the PostgreSQL sinks (`driftmon sinks`) as a child"
    )
    inference_logs_enabled: bool = Field(True, description="store raw inferences")
    inference_logs_sample_rate: float = Field(1.0, ge=0, le=1, description="share stored")
    sink_lag_seconds: float = Field(
        15.0, ge=0, description="how often to measure the sinks' backlog (0: never)"
    )
    # labels and model performance (docs/architecture.md, "Performance")
    labels_enabled: bool = Field(True, description="store the labels topic and judge performance")
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
    # web / metrics
    web_host: str = Field("127.0.0.1", description="interface /metrics listens on")
    web_port: int = Field(6066, description="port of /metrics")
    sinks_web_port: int = Field(
        -1, ge=-1, description="port of the sinks process's /metrics; -1: web_port + 1; 0: none"
    )
    data_dir: str = Field("/tmp/driftmon-worker", description="unused (state is in memory)")
    grafana_url: str = Field("", description="annotate alert transitions in Grafana when set")
    grafana_token: str = Field("", description="Grafana service account token")

    def event_age_bound(self) -> float:
        """``max_event_age_seconds`` resolved: the retained span when unset."""
        if self.max_event_age_seconds is None:
            return float(self.recent_seconds + self.baseline_seconds)
        return self.max_event_age_seconds
