"""The sinks process's Prometheus metrics, created on a registry passed in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class SinkMetrics:
    """Each sink's backlog, and what the retention job did (sinks.retention)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Gauge(
            "drift_sink_lag_records",
            "records the PostgreSQL sinks have yet to store",
            ["sink"],
            registry=registry,
        )
        self.partitions_dropped = Counter(
            "drift_retention_partitions_dropped",
            "inference_logs daily partitions dropped by the retention job",
            registry=registry,
        )
        self.log_rows_deleted = Counter(
            "drift_retention_log_rows_deleted",
            "old inference_logs rows deleted from the default partition",
            registry=registry,
        )
        self.runs_rolled_up = Counter(
            "drift_retention_runs_rolled_up",
            "drift_runs rows rolled up into drift_runs_hourly",
            registry=registry,
        )
        self.last_run = Gauge(
            "drift_retention_last_run_timestamp_seconds",
            "wall-clock time the retention job last completed",
            registry=registry,
        )
        self.failures = Counter(
            "drift_retention_failures", "retention runs that failed", registry=registry
        )
