"""How the worker is put together from its settings: the processor, the Kafka clients' ids and
configuration, and the split of a consumed batch into bounded chunks (pure functions, tested on
their own)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

from drift import DetectionPolicy, EventLimits, Hysteresis
from drift.quality import QualityPolicy
from stream_app import changelog
from stream_app.config import WorkerSettings
from stream_app.processor import (
    DedupSettings,
    DetectionSettings,
    EventTimeBounds,
    HistogramSettings,
    Processor,
    RawRecord,
    VectorSettings,
)
from stream_app.windows import WindowSpec


def chunks(records: list[RawRecord], max_bytes: int) -> Iterator[list[RawRecord]]:
    """Consecutive runs of ``records`` of at most ``max_bytes`` of values (at least one record):
    a batch of 2,000 records of 500 events each would be a million decoded events at once."""
    chunk: list[RawRecord] = []
    size = 0
    for rec in records:
        if chunk and size + len(rec.value) > max_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(rec)
        size += len(rec.value)
    if chunk:
        yield chunk


def build_processor(s: WorkerSettings, store: changelog.StateStore) -> Processor:
    return Processor(
        WindowSpec(s.bucket_seconds, s.recent_seconds, s.baseline_seconds, s.lateness_seconds),
        DetectionPolicy(
            min_recent=s.min_recent,
            min_baseline=s.min_baseline,
            n_bins=s.n_bins,
            rule=s.detection_rule,
            fdr=s.fdr,
            min_effect=s.min_effect,
        ),
        Hysteresis(s.alert_open_after, s.alert_resolve_after),
        HistogramSettings(
            s.relative_accuracy, s.max_categories, s.max_streams_per_model, s.max_models
        ),
        EventLimits(
            max_embeddings=s.max_embeddings,
            max_embedding_dims=s.max_embedding_dims,
            max_embedding_abs=s.max_embedding_abs,
        ),
        store,
        EventTimeBounds(s.max_future_seconds, s.event_age_bound()),
        s.max_evaluations_per_advance,
        DedupSettings(s.dedup_horizon_seconds, s.dedup_max_ids_per_bucket),
        detection=DetectionSettings(
            tuple(s.fresh_buckets), s.freeze_drifted, s.seasonal_days, quality_policy(s)
        ),
        vectors=VectorSettings(
            s.vector_projections,
            s.max_vector_streams_per_model,
            dict(s.embedding_dims),
            s.multivariate,
            s.multivariate_inputs,
            s.multivariate_after,
        ),
    )


def quality_policy(s: WorkerSettings) -> QualityPolicy | None:
    """The data-quality limits (``DRIFT_DQ_*``); the minimum counts are the drift policy's."""
    if not s.dq_enabled:
        return None
    return QualityPolicy(
        fdr=s.dq_fdr,
        min_missing_change=s.dq_min_missing_change,
        min_out_of_range=s.dq_min_out_of_range,
        min_new_share=s.dq_min_new_share,
        min_recent=s.min_recent,
        min_baseline=s.min_baseline,
    )


def transactional_id(s: WorkerSettings) -> str:
    """The setting, or ``<app id>-<host>-<web port>``: stable across restarts of one worker
    (its ``init_transactions`` then aborts what a killed predecessor left open) and distinct
    between workers (two cannot listen on one host's port)."""
    return s.transactional_id or f"{s.app_id}-{socket.gethostname()}-{s.web_port}"


# How much the consumer fetches ahead. librdkafka's default of 1 MB a partition per fetch
# request held a consumer of one-event records to ~150k records/s here however fast it was
# otherwise (bench_worker's bare consumer: 0.15M/s at 1 MB, 0.71M/s at 10 MB, 1M records).
FETCH_CONFIG: dict[str, Any] = {
    "fetch.max.bytes": 52_428_800,
    "max.partition.fetch.bytes": 10_485_760,
    "queued.max.messages.kbytes": 262_144,
}


def consumer_config(s: WorkerSettings) -> dict[str, Any]:
    """The worker's consumer: group = app id, ``read_committed``, offsets only in transactions."""
    return {
        "bootstrap.servers": s.kafka_bootstrap,
        "group.id": s.app_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest",
        # eager and partition-aligned: events p and control p are assigned together
        "partition.assignment.strategy": "range",
        "session.timeout.ms": int(s.session_timeout_seconds * 1000),
        "heartbeat.interval.ms": int(max(s.session_timeout_seconds / 10, 0.1) * 1000),
        "max.poll.interval.ms": int(max(300.0, 2 * s.transaction_timeout_seconds) * 1000),
        **FETCH_CONFIG,
    }
