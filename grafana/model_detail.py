"""Model detail dashboard (uid ``driftmon-model``): one model, its streams, one chosen stream.

Variables: ``model_id`` (from ``models``) and ``stream`` (that model's streams in ``drift_runs``).
SQL uses ``'$model_id'``: Grafana substitutes a single-valued SQL variable with its quotes
doubled, so the quoted literal is safe.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.models.dashboard import (
    DynamicConfigValue,
    VariableRefresh,
    VariableSort,
)

from grafana import datasources
from grafana.panels import bar_panel, limit_series, log_scale, table_panel, timeseries_panel
from grafana.performance import performance_row
from grafana.targets import Sql, promql

UID = "driftmon-model"
MODEL = 'model_id="$model_id"'
STREAM = f'{MODEL}, stream="$stream"'

MODELS_SQL = "SELECT model_id FROM models"
# vector streams (embedding.<name>, multivariate) have no bins nor per-bin statistics: the
# "Vector streams" row shows them, the stream row only streams of values
STREAMS_SQL = (
    "SELECT DISTINCT stream FROM drift_runs WHERE model_id = '$model_id' "
    "AND stream_kind IS DISTINCT FROM 'vector'"
)

STATISTICS_SQL = """
SELECT window_end AS "time",
       kl_divergence, cosine_similarity, psi, js_distance, hellinger,
       wasserstein, ks_statistic, chi2_pvalue
FROM drift_runs
WHERE model_id = '$model_id' AND stream = '$stream' AND $__timeFilter(window_end)
ORDER BY window_end
"""

# Latest bins of the stream, unnested in step (WITH ORDINALITY) and normalised to shares so a
# recent window of 1 h compares with a baseline of 24 h.
DISTRIBUTION_SQL = """
WITH latest AS (
    SELECT bins
    FROM drift_runs
    WHERE model_id = '$model_id' AND stream = '$stream'
      AND bins IS NOT NULL AND window_end <= $__timeTo()
    ORDER BY window_end DESC, id DESC
    LIMIT 1
)
SELECT l.label AS bin,
       r.value::double precision / NULLIF(SUM(r.value::double precision) OVER (), 0) AS recent,
       b.value::double precision / NULLIF(SUM(b.value::double precision) OVER (), 0) AS baseline
FROM latest
CROSS JOIN LATERAL jsonb_array_elements_text(latest.bins -> 'labels')
    WITH ORDINALITY AS l(label, n)
JOIN LATERAL jsonb_array_elements_text(latest.bins -> 'recent')
    WITH ORDINALITY AS r(value, n) ON r.n = l.n
JOIN LATERAL jsonb_array_elements_text(latest.bins -> 'baseline')
    WITH ORDINALITY AS b(value, n) ON b.n = l.n
ORDER BY l.n
"""

SAMPLE_COUNTS_SQL = """
SELECT window_end AS "time", recent_count, baseline_count
FROM drift_runs
WHERE model_id = '$model_id' AND stream = '$stream' AND $__timeFilter(window_end)
ORDER BY window_end
"""

STREAMS_STATUS_SQL = """
SELECT DISTINCT ON (stream)
       stream, stream_kind, status, window_end, rule, test, p_value, q_value, score,
       score_limit, effect, baseline_mode, kl_divergence, psi, recent_count, baseline_count,
       array_to_string(drifted_metrics, ', ') AS drifted_metrics
FROM drift_runs
WHERE model_id = '$model_id' AND window_end <= $__timeTo()
ORDER BY stream, window_end DESC, id DESC
"""

ALERT_HISTORY_SQL = """
SELECT opened_at, resolved_at, stream, metric, status, severity, value, threshold, message
FROM alerts
WHERE model_id = '$model_id'
  AND opened_at <= $__timeTo()
  AND (resolved_at IS NULL OR resolved_at >= $__timeFrom())
ORDER BY opened_at DESC
LIMIT 200
"""


def _variables(board: dashboard_builder.Dashboard) -> None:
    for name, label, sql in (("model_id", "Model", MODELS_SQL), ("stream", "Stream", STREAMS_SQL)):
        board.with_variable(
            dashboard_builder.QueryVariable(name)
            .label(label)
            .datasource(datasources.postgres())
            .query(sql)
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(VariableSort.ALPHABETICAL_ASC)
        )


def _all_streams_row(board: dashboard_builder.Dashboard) -> None:
    prom = datasources.prometheus
    board.with_row(dashboard_builder.Row("All streams of $model_id"))
    board.with_panel(
        timeseries_panel(
            "Verdict score / limit per stream",
            prom(),
            [promql(f"drift_score{{{MODEL}}} / drift_score_limit{{{MODEL}}}", "{{stream}}")],
            limit=(1.0, "red"),
            description="drift_score over drift_score_limit: a stream drifts at 1 or above "
            "(calibrated rule: -log10 p against -log10 of the Benjamini-Hochberg cut-off, plus "
            "a minimum effect; fixed rule: the largest statistic/threshold ratio).",
            span=24,
        )
    )
    for title, metric, limit in (
        ("KL divergence per stream", "drift_kl_divergence", (0.1, "red")),
        ("Cosine similarity per stream", "drift_cosine_similarity", (0.9, "green")),
        ("PSI per stream", "drift_psi", (0.25, "red")),
        ("Jensen-Shannon distance per stream", "drift_js_distance", None),
    ):
        board.with_panel(
            timeseries_panel(
                title, prom(), [promql(f"{metric}{{{MODEL}}}", "{{stream}}")], limit=limit
            )
        )
    board.with_panel(
        timeseries_panel(
            "Model verdict",
            prom(),
            [
                promql(f"drift_model_drifted_share{{{MODEL}}}", "share of inputs drifted"),
                promql(f"drift_model_prediction_drift{{{MODEL}}}", "prediction drift", ref_id="B"),
            ],
            unit="percentunit",
        )
    )
    board.with_panel(
        timeseries_panel(
            "Events in the windows",
            prom(),
            [promql(f"drift_window_events{{{MODEL}}}", "{{window}}")],
        )
    )
    board.with_panel(
        table_panel("Latest evaluation per stream", datasources.postgres(), Sql(STREAMS_STATUS_SQL))
    )


def _vector_row(board: dashboard_builder.Dashboard) -> None:
    """Vector streams (embedding.<name>, multivariate): their metrics from the worker's gauges,
    which only vector streams carry (so the legends list only them)."""
    prom = datasources.prometheus
    board.with_row(dashboard_builder.Row("Vector streams of $model_id"))
    for title, metric, unit, description in (
        ("Cosine distance per vector stream", "drift_cosine_distance", "short",
         "1 - cosine similarity of the recent and baseline mean vectors."),
        ("Sliced Wasserstein per vector stream", "drift_sliced_wasserstein", "short",
         "Mean normed Wasserstein distance over the random projections."),
        ("Drifted projections per vector stream", "drift_drifted_projections", "percentunit",
         "Share of the random projections whose calibrated p-value is at most DRIFT_FDR."),
    ):  # fmt: skip
        board.with_panel(
            timeseries_panel(
                title,
                prom(),
                [promql(f"{metric}{{{MODEL}}}", "{{stream}}")],
                unit=unit,
                description=description + " No fixed limit: the verdict is drift_score against "
                "drift_score_limit (first row), as for every stream.",
                span=8,
            )
        )


def _verdict_panels(board: dashboard_builder.Dashboard) -> None:
    prom = datasources.prometheus
    score = timeseries_panel(
        "Verdict score of $stream and its limit",
        prom(),
        [
            promql(f"drift_score{{{STREAM}}}", "score"),
            promql(f"drift_score_limit{{{STREAM}}}", "limit", ref_id="B"),
            promql(f"drift_baseline_frozen{{{STREAM}}}", "baseline frozen", ref_id="C"),
        ],
        description="Drift when the score reaches the limit (dashed). Calibrated rule: score "
        "-log10 p, limit -log10 of the model's Benjamini-Hochberg cut-off; fixed rule: the "
        "largest statistic/threshold ratio against 1. Baseline frozen is 1 while the stream is "
        "judged against the baseline frozen when its alert opened (until resolved or accepted).",
    )
    frozen_axis = [
        DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
        DynamicConfigValue(id_val="custom.lineInterpolation", value="stepAfter"),
        DynamicConfigValue(id_val="max", value=1),
    ]
    board.with_panel(limit_series(score, "B").override_by_query("C", frozen_axis))
    board.with_panel(
        log_scale(
            timeseries_panel(
                "Calibrated p-value of $stream",
                prom(),
                [promql(f"drift_p_value{{{STREAM}}}", "p-value")],
                description="p-value of the deciding test under the null calibrated on the "
                "baseline's own sub-windows (absent under the fixed rule and while data are "
                "insufficient).",
            )
        )
    )


def _stream_row(board: dashboard_builder.Dashboard) -> None:
    pg = datasources.postgres
    board.with_row(dashboard_builder.Row("Stream $stream"))
    _verdict_panels(board)
    board.with_panel(
        timeseries_panel(
            "Statistics of $stream",
            pg(),
            [Sql(STATISTICS_SQL, fmt="time_series")],
            description="Every statistic of each evaluation (drift_runs).",
        )
    )
    board.with_panel(
        bar_panel(
            "Recent vs baseline distribution of $stream",
            pg(),
            Sql(DISTRIBUTION_SQL),
            x_field="bin",
            unit="percentunit",
            description="Latest evaluation's bins (baseline quantile bins), as shares.",
        )
    )
    board.with_panel(
        timeseries_panel(
            "Sample counts of $stream",
            pg(),
            [Sql(SAMPLE_COUNTS_SQL, fmt="time_series")],
            description="Below min_recent / min_baseline the status is insufficient_data.",
        )
    )
    board.with_panel(
        table_panel("Alert history of $model_id", pg(), Sql(ALERT_HISTORY_SQL), span=12)
    )


def build() -> dashboard_builder.Dashboard:
    """The model detail dashboard builder (panel ids are assigned by ``dashboards``)."""
    board = dashboard_builder.Dashboard("AI Drift Monitor — model detail").uid(UID)
    _variables(board)
    _all_streams_row(board)
    _vector_row(board)
    _stream_row(board)
    performance_row(board)
    return board
