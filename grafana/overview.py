"""Drift overview dashboard (uid ``driftmon-overview``): every model and stream at a glance.

Drift scores over time come from the worker's Prometheus gauges (cheap, one series per model and
stream); the current status and the alert feed come from PostgreSQL, which keeps the full
history and what Alertmanager actually delivered.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builder

from grafana import datasources
from grafana.panels import stat_panel, table_panel, timeseries_panel
from grafana.targets import Sql, promql

UID = "driftmon-overview"
PER_STREAM = "{{model_id}} · {{stream}}"

CURRENT_STATUS_SQL = """
SELECT model_id, stream, stream_kind, status, window_end,
       kl_divergence, cosine_similarity, psi, js_distance,
       recent_count, baseline_count,
       array_to_string(drifted_metrics, ', ') AS drifted_metrics
FROM (
    SELECT DISTINCT ON (model_id, stream) *
    FROM drift_runs
    WHERE window_end <= $__timeTo()
    ORDER BY model_id, stream, window_end DESC, id DESC
) AS latest
ORDER BY (status = 'drift') DESC, model_id, stream
"""

# Two sources, one feed: the monitor's own hysteresis alerts and Alertmanager's notifications.
ALERT_FEED_SQL = """
SELECT "time", source, model_id, stream, what, status, severity, value, threshold, message
FROM (
    SELECT COALESCE(resolved_at, opened_at) AS "time", 'monitor' AS source,
           model_id, stream, metric AS what, status, severity,
           value, threshold, message
    FROM alerts
    WHERE $__timeFilter(opened_at) OR $__timeFilter(resolved_at) OR status = 'open'
    UNION ALL
    SELECT received_at, 'alertmanager', model_id, stream, alertname, status, severity,
           NULL::double precision, NULL::double precision, annotations ->> 'summary'
    FROM alert_notifications
    WHERE $__timeFilter(received_at)
) AS feed
ORDER BY "time" DESC
LIMIT 200
"""


def _scores_row(board: dashboard_builder.Dashboard) -> None:
    prom = datasources.prometheus
    board.with_row(dashboard_builder.Row("Drift scores per model and stream"))
    board.with_panel(
        timeseries_panel(
            "KL divergence (recent ‖ baseline)",
            prom(),
            [promql("drift_kl_divergence", PER_STREAM)],
            description="Drift when above the threshold (default 0.1).",
            limit=(0.1, "red"),
        )
    )
    board.with_panel(
        timeseries_panel(
            "Cosine similarity",
            prom(),
            [promql("drift_cosine_similarity", PER_STREAM)],
            description="Drift when below the threshold (default 0.9).",
            limit=(0.9, "green"),
        )
    )
    board.with_panel(
        timeseries_panel(
            "Population stability index (PSI)",
            prom(),
            [promql("drift_psi", PER_STREAM)],
            description="Rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 major shift.",
            limit=(0.25, "red"),
        )
    )
    board.with_panel(
        timeseries_panel(
            "Jensen-Shannon distance",
            prom(),
            [promql("drift_js_distance", PER_STREAM)],
            description="Bounded in [0, 1]; symmetric, unlike KL.",
            unit="none",
        )
    )


def _status_row(board: dashboard_builder.Dashboard) -> None:
    pg = datasources.postgres
    board.with_row(dashboard_builder.Row("Status and alerts"))
    board.with_panel(
        table_panel(
            "Current status (latest evaluation per model and stream)",
            pg(),
            Sql(CURRENT_STATUS_SQL),
            description="Latest drift_runs row per (model, stream) up to the end of the range.",
        )
    )
    board.with_panel(
        table_panel(
            "Alert feed",
            pg(),
            Sql(ALERT_FEED_SQL),
            description="Monitor alerts (opened/resolved) and Alertmanager notifications.",
        )
    )


def _traffic_row(board: dashboard_builder.Dashboard) -> None:
    prom = datasources.prometheus
    board.with_row(dashboard_builder.Row("Traffic"))
    board.with_panel(
        timeseries_panel(
            "Events/s per model",
            prom(),
            [
                promql(
                    "sum by (model_id) (rate(drift_events_total[$__rate_interval]))", "{{model_id}}"
                )
            ],
            unit="reqps",
        )
    )
    board.with_panel(
        timeseries_panel(
            "Rejected events/s (to the DLQ) by reason",
            prom(),
            [
                promql(
                    "sum by (reason) (rate(drift_events_rejected_total[$__rate_interval]))",
                    "{{reason}}",
                )
            ],
            unit="reqps",
        )
    )


def _headline(board: dashboard_builder.Dashboard) -> None:
    prom = datasources.prometheus
    board.with_panel(
        stat_panel(
            "Streams drifting",
            prom(),
            promql("count(drift_detected == 1) or vector(0)", "drifting"),
            steps=((None, "green"), (1, "red")),
        )
    )
    board.with_panel(
        stat_panel(
            "Open alerts",
            prom(),
            promql("sum(drift_alerts_open) or vector(0)", "open"),
            steps=((None, "green"), (1, "red")),
        )
    )
    board.with_panel(
        stat_panel(
            "Events/s",
            prom(),
            promql("sum(rate(drift_events_total[$__rate_interval]))", "events/s"),
            unit="reqps",
        )
    )
    board.with_panel(
        stat_panel(
            "Rejected events/s",
            prom(),
            promql(
                "sum(rate(drift_events_rejected_total[$__rate_interval])) or vector(0)",
                "rejected/s",
            ),
            unit="reqps",
            steps=((None, "green"), (0.001, "orange")),
        )
    )


def build() -> dashboard_builder.Dashboard:
    """The overview dashboard builder (panel ids are assigned by ``dashboards``)."""
    board = dashboard_builder.Dashboard("AI Drift Monitor — overview").uid(UID)
    _headline(board)
    _scores_row(board)
    _status_row(board)
    _traffic_row(board)
    return board
