"""Worker settings: one pydantic-settings class, env prefix ``DRIFT_``, local defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sinks.settings import SharedSettings


class WorkerSettings(SharedSettings):
    """The worker's settings; the values its sinks read too are in ``SharedSettings``."""

    partitions: int = Field(8, ge=1, description="partitions of the topics the worker declares")
    # event-time windows (seconds)
    bucket_seconds: int = Field(300, ge=1, description="bucket size; evaluation cadence")
    lateness_seconds: int = Field(60, ge=0, description="a bucket closes at end + lateness")
    idle_close_seconds: float = Field(
        120.0, gt=0, description="wall-clock idleness after which a model's open bucket closes"
    )
    max_evaluations_per_advance: int = Field(
        24,
        ge=1,
        description="window evaluations one event may cause: those holding its bucket in their "
        "recent part (at most all but one), then the window jumps past the gap to the next "
        "data or the last ones (sparse events never multiply drift_runs rows; dense data and "
        "delivery holes still have every window with recent data evaluated)",
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
    dq_enabled: bool = Field(
        True, description="judge data quality (missing, out of range, new categories, schema)"
    )
    dq_fdr: float = Field(
        0.001, gt=0, lt=1, description="false-discovery rate of a model's data-quality tests"
    )
    dq_min_missing_change: float = Field(
        0.05, ge=0, le=1, description="smallest change of the missing share that is an issue"
    )
    dq_min_out_of_range: float = Field(
        0.02, ge=0, le=1, description="smallest share outside the baseline's range (numeric)"
    )
    dq_min_new_share: float = Field(
        0.02, ge=0, le=1, description="smallest share in categories the baseline never had"
    )
    alert_open_after: int = Field(
        3, ge=1, description="consecutive drifted evaluations before an alert opens"
    )
    alert_resolve_after: int = Field(3, ge=1, description="ok evaluations before it resolves")
    # limits (bounded state and series)
    max_streams_per_model: int = Field(200, ge=1, description="streams kept per model")
    # vector streams (docs/architecture.md, "Vector streams")
    max_embeddings: int = Field(4, ge=0, description="named vectors per event")
    max_embedding_dims: int = Field(1024, ge=1, description="dimensions of one embedding")
    max_embedding_abs: float = Field(
        100.0, gt=0, le=100.0, description="largest |value| of an embedding (fixed-point bound)"
    )
    embedding_dims: dict[str, int] = Field(
        default_factory=dict, description='declared dimensions by name, e.g. {"text": 384}'
    )
    vector_projections: int = Field(16, ge=1, le=64, description="directions per vector stream")
    max_vector_streams_per_model: int = Field(
        4, ge=0, description="vector streams (embeddings, multivariate) kept per model"
    )
    multivariate: bool = Field(
        False, description="keep the multivariate stream (standardised numeric inputs)"
    )
    multivariate_inputs: int = Field(16, ge=2, le=64, description="inputs of multivariate")
    multivariate_after: int = Field(
        1000, ge=10, description="values per input before multivariate's scales are fixed"
    )
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
    # the sinks' own settings (sinks.settings.SinkSettings, `driftmon sinks --settings`) are
    # read from the same DRIFT_* environment; those both need are in SharedSettings
    # web / metrics
    web_port: int = Field(6066, description="port of /metrics")
    data_dir: str = Field("/tmp/driftmon-worker", description="unused (state is in memory)")
