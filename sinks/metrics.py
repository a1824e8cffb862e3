"""The sinks process's Prometheus metrics, created on a registry passed in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge


class SinkMetrics:
    """Each sink's backlog."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Gauge(
            "drift_sink_lag_records",
            "records the PostgreSQL sinks have yet to store",
            ["sink"],
            registry=registry,
        )
