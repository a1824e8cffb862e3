"""The performance row of the model dashboard (issue 15): realised against estimated accuracy
per window (``performance_windows``: a window's realised accuracy fills in as its labels come,
the estimate is there at once), how complete the labels are, and the verdict gauges of the
sinks process (job ``driftmon-sinks``)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.models.dashboard import DynamicConfigValue

from grafana import datasources
from grafana.panels import limit_series, timeseries_panel
from grafana.targets import Sql, promql

MODEL = 'model_id="$model_id"'

ACCURACY_SQL = """
SELECT window_start AS "time", accuracy AS realised, estimated_accuracy AS estimated
FROM performance_windows
WHERE model_id = '$model_id' AND $__timeFilter(window_start)
ORDER BY window_start
"""

LABELLED_SQL = """
SELECT window_start AS "time", labelled_share,
       too_late::double precision / NULLIF(inferences, 0) AS too_late_share
FROM performance_windows
WHERE model_id = '$model_id' AND $__timeFilter(window_start)
ORDER BY window_start
"""


def performance_row(board: dashboard_builder.Dashboard) -> None:
    pg, prom = datasources.postgres, datasources.prometheus
    board.with_row(dashboard_builder.Row("Performance of $model_id"))
    board.with_panel(
        timeseries_panel(
            "Realised vs estimated accuracy per window",
            pg(),
            [Sql(ACCURACY_SQL, fmt="time_series")],
            unit="percentunit",
            description="Per window of inference time: the accuracy on the labels in hand "
            "(fills in as labels arrive) and the label-free estimate (CBPE, from confidence: "
            "blind to concept drift, which the realised line shows).",
        )
    )
    board.with_panel(
        timeseries_panel(
            "Labelled share per window",
            pg(),
            [Sql(LABELLED_SQL, fmt="time_series")],
            unit="percentunit",
            description="Share of a window's logged inferences with a label in time, and of "
            "labels too late (beyond the label horizon: not used).",
        )
    )
    verdict = timeseries_panel(
        "Accuracy verdict of the newest labelled window",
        prom(),
        [
            promql(f"drift_performance_accuracy{{{MODEL}}}", "realised"),
            promql(f"drift_performance_baseline_accuracy{{{MODEL}}}", "baseline", ref_id="B"),
            promql(f"drift_performance_estimated_accuracy{{{MODEL}}}", "estimated", ref_id="C"),
            promql(f"drift_performance_degraded{{{MODEL}}}", "degraded", ref_id="D"),
        ],
        unit="percentunit",
        description="The judged window is the newest with enough labels; degraded (right "
        "axis) is the calibrated verdict against the windows before it (drop significant at "
        "DRIFT_FDR and at least DRIFT_PERFORMANCE_MIN_DROP).",
        span=24,
    )
    degraded_axis = [
        DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
        DynamicConfigValue(id_val="custom.lineInterpolation", value="stepAfter"),
        DynamicConfigValue(id_val="unit", value="short"),
        DynamicConfigValue(id_val="max", value=1),
    ]
    board.with_panel(limit_series(verdict, "B", "blue").override_by_query("D", degraded_axis))
