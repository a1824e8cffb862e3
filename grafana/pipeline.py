"""Pipeline health dashboard (uid ``driftmon-pipeline``): is the monitor itself keeping up?

Ingest, Kafka consumer lag, the sinks' backlog, dead-letter rate, evaluation time and
staleness, API latency and scrape health, all from Prometheus (the metrics contract in
docs/architecture.md).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.variants import Dataquery

from grafana import datasources
from grafana.panels import stat_panel, timeseries_panel
from grafana.targets import promql

UID = "driftmon-pipeline"
RATE = "[$__rate_interval]"
QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))


def quantile_targets(
    histogram: str, by: str = "", legend_suffix: str = ""
) -> list[Builder[Dataquery]]:
    """p50/p95/p99 targets of a Prometheus histogram, optionally split ``by`` labels."""
    group = f"le, {by}" if by else "le"
    return [
        promql(
            f"histogram_quantile({q}, sum by ({group}) (rate({histogram}_bucket{RATE})))",
            f"{name}{legend_suffix}",
            ref_id=chr(ord("A") + index),
        )
        for index, (name, q) in enumerate(QUANTILES)
    ]


def _headline(board: dashboard_builder.Dashboard) -> None:
    prom = datasources.prometheus
    board.with_panel(
        stat_panel(
            "Ingest events/s", prom(), promql(f"sum(rate(drift_events_total{RATE}))"), unit="reqps"
        )
    )
    board.with_panel(
        stat_panel(
            "Consumer lag (records)",
            prom(),
            promql("sum(drift_consumer_lag_records) or vector(0)"),
            steps=((None, "green"), (1000, "orange"), (100000, "red")),
        )
    )
    board.with_panel(
        stat_panel(
            "Oldest evaluation age",
            prom(),
            promql("time() - min(drift_last_evaluation_timestamp_seconds)"),
            unit="s",
            steps=((None, "green"), (900, "orange"), (1800, "red")),
            description="Seconds since the least recently evaluated model was evaluated.",
        )
    )
    board.with_panel(
        stat_panel(
            "Targets down",
            prom(),
            promql('count(up{job=~"driftmon-.*"} == 0) or vector(0)'),
            steps=((None, "green"), (1, "red")),
        )
    )


def _throughput_row(board: dashboard_builder.Dashboard) -> None:
    prom = datasources.prometheus
    board.with_row(dashboard_builder.Row("Ingest and Kafka"))
    board.with_panel(
        timeseries_panel(
            "Ingest rate",
            prom(),
            [
                promql(f"sum(rate(drift_events_total{RATE}))", "counted by workers"),
                promql(
                    f"sum(rate(drift_api_ingested_events_total{RATE}))",
                    "accepted by HTTP shim",
                    ref_id="B",
                ),
            ],
            unit="reqps",
        )
    )
    board.with_panel(
        timeseries_panel(
            "Consumer lag",
            prom(),
            [
                promql(
                    "sum by (topic, partition) (drift_consumer_lag_records)",
                    "{{topic}} [{{partition}}]",
                ),
            ],
            unit="short",
        )
    )
    board.with_panel(
        timeseries_panel(
            "Sink backlog (PostgreSQL)",
            prom(),
            [promql("max by (sink) (drift_sink_lag_records)", "{{sink}}")],
            unit="short",
            description="Records the sinks have yet to store in PostgreSQL; it grows while the "
            "database is down or no sinks process runs, and drains after.",
        )
    )
    board.with_panel(
        timeseries_panel(
            "Dead-letter rate by reason",
            prom(),
            [
                promql(f"sum by (reason) (rate(drift_events_rejected_total{RATE}))", "{{reason}}"),
            ],
            unit="reqps",
        )
    )
    board.with_panel(
        timeseries_panel(
            "Late events dropped",
            prom(),
            [
                promql(f"sum by (model_id) (rate(drift_late_events_total{RATE}))", "{{model_id}}"),
            ],
            unit="reqps",
        )
    )


def _evaluation_row(board: dashboard_builder.Dashboard) -> None:
    prom = datasources.prometheus
    board.with_row(dashboard_builder.Row("Evaluation"))
    board.with_panel(
        timeseries_panel(
            "Evaluation time",
            prom(),
            quantile_targets("drift_evaluation_duration_seconds"),
            unit="s",
            description="Time to evaluate one closed bucket (all streams of a model).",
        )
    )
    board.with_panel(
        timeseries_panel(
            "Age of the last evaluation",
            prom(),
            [promql("time() - drift_last_evaluation_timestamp_seconds", "{{model_id}}")],
            unit="s",
            limit=(1800, "red"),
            description="Grows when a model stops being evaluated (stuck worker, no events).",
        )
    )


def _api_row(board: dashboard_builder.Dashboard) -> None:
    prom = datasources.prometheus
    board.with_row(dashboard_builder.Row("API and scrape targets"))
    board.with_panel(
        timeseries_panel(
            "API latency p95 by route",
            prom(),
            [
                promql(
                    "histogram_quantile(0.95, sum by (le, route) "
                    f"(rate(drift_api_request_duration_seconds_bucket{RATE})))",
                    "{{route}}",
                )
            ],
            unit="s",
        )
    )
    board.with_panel(
        timeseries_panel(
            "API latency (all routes)",
            prom(),
            quantile_targets("drift_api_request_duration_seconds"),
            unit="s",
        )
    )
    board.with_panel(
        timeseries_panel(
            "API requests/s by status",
            prom(),
            [
                promql(f"sum by (status) (rate(drift_api_requests_total{RATE}))", "{{status}}"),
            ],
            unit="reqps",
        )
    )
    board.with_panel(
        timeseries_panel(
            "Scrape targets up",
            prom(),
            [
                promql('up{job=~"driftmon-.*"}', "{{job}} {{instance}}"),
            ],
            unit="none",
        )
    )


def _ratios_row(board: dashboard_builder.Dashboard) -> None:
    prom = datasources.prometheus
    board.with_row(dashboard_builder.Row("Error ratios (recording rules, 5m)"))
    board.with_panel(
        timeseries_panel(
            "Rejected share of records",
            prom(),
            [promql("job:drift_rejected_ratio:rate5m", "{{job}}")],
            unit="percentunit",
            limit=(0.05, "red"),
            description="Records sent to the DLQ / all records (prometheus/rules/recording.yml).",
        )
    )
    board.with_panel(
        timeseries_panel(
            "API 5xx ratio",
            prom(),
            [promql("job:drift_api_errors:ratio_rate5m", "{{job}}")],
            unit="percentunit",
            limit=(0.01, "red"),
        )
    )


def build() -> dashboard_builder.Dashboard:
    """The pipeline health dashboard builder (panel ids are assigned by ``dashboards``)."""
    board = dashboard_builder.Dashboard("AI Drift Monitor — pipeline health").uid(UID)
    _headline(board)
    _throughput_row(board)
    _evaluation_row(board)
    _api_row(board)
    _ratios_row(board)
    return board
