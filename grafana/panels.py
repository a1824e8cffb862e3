"""Panel factories shared by the dashboards: one place for sizes, legends and colours.

Each factory returns an SDK panel builder with its targets; the dashboard module places it and
``dashboards.assign_panel_ids`` numbers it (the SDK leaves ids unset).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import barchart, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
)

# Colours for drift_runs.status / alerts.status text values.
STATUS_COLOURS = {
    "ok": "green",
    "drift": "red",
    "insufficient_data": "text",
    "open": "red",
    "firing": "red",
    "resolved": "green",
}


def thresholds(*steps: tuple[float | None, str]) -> dashboard_builder.ThresholdsConfig:
    """Absolute thresholds; the first step's value is None (from -infinity)."""
    return (
        dashboard_builder.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=value, color=colour) for value, colour in steps])
    )


def status_mapping() -> ValueMap:
    """Value mapping colouring status words the same way on every table."""
    return ValueMap(
        options={
            word: ValueMappingResult(color=colour, index=index)
            for index, (word, colour) in enumerate(STATUS_COLOURS.items())
        }
    )


def timeseries_panel(
    title: str,
    datasource: DataSourceRef,
    targets: list[Builder[Dataquery]],
    *,
    unit: str = "short",
    description: str = "",
    limit: tuple[float, str] | None = None,
    span: int = 12,
    height: int = 8,
) -> timeseries.Panel:
    """A line chart; ``limit`` (value, colour) draws a dashed threshold line, e.g. KL > 0.1."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(datasource)
        .targets(targets)
        .unit(unit)
        .span(span)
        .height(height)
        .legend(
            common_builder.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.RIGHT)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
    )
    if limit is not None:
        panel = panel.thresholds(thresholds((None, "transparent"), limit)).thresholds_style(
            common_builder.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)
        )
    return panel


def limit_series(panel: timeseries.Panel, ref_id: str, colour: str = "red") -> timeseries.Panel:
    """Draw the series of query ``ref_id`` as a dashed threshold line (a limit that moves, e.g.
    ``drift_score_limit``, which a fixed ``limit`` of ``timeseries_panel`` cannot show)."""
    return panel.override_by_query(
        ref_id,
        [
            DynamicConfigValue(id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]}),
            DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": colour}),
            DynamicConfigValue(id_val="custom.fillOpacity", value=0),
        ],
    )


def log_scale(panel: timeseries.Panel) -> timeseries.Panel:
    """A log10 y axis (p-values span many orders of magnitude)."""
    return panel.scale_distribution(
        common_builder.ScaleDistributionConfig().type(common.ScaleDistribution.LOG).log(10)
    )


def stat_panel(
    title: str,
    datasource: DataSourceRef,
    target: Builder[Dataquery],
    *,
    unit: str = "short",
    description: str = "",
    steps: tuple[tuple[float | None, str], ...] = ((None, "green"),),
    span: int = 6,
    height: int = 4,
) -> stat.Panel:
    """A single number with a sparkline, coloured by ``steps``."""
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(datasource)
        .with_target(target)
        .unit(unit)
        .span(span)
        .height(height)
        .thresholds(thresholds(*steps))
        .graph_mode(common.BigValueGraphMode.AREA)
        .color_mode(common.BigValueColorMode.VALUE)
        .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )


def table_panel(
    title: str,
    datasource: DataSourceRef,
    target: Builder[Dataquery],
    *,
    description: str = "",
    span: int = 24,
    height: int = 9,
) -> table.Panel:
    """A table whose status columns are coloured by ``status_mapping``."""
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(datasource)
        .with_target(target)
        .span(span)
        .height(height)
        .mappings([status_mapping()])
        .cell_height(common.TableCellHeight.SM)
    )


def bar_panel(
    title: str,
    datasource: DataSourceRef,
    target: Builder[Dataquery],
    *,
    x_field: str,
    unit: str = "short",
    description: str = "",
    span: int = 12,
    height: int = 9,
) -> barchart.Panel:
    """Grouped bars, one group per ``x_field`` value (e.g. a histogram bin)."""
    return (
        barchart.Panel()
        .title(title)
        .description(description)
        .datasource(datasource)
        .with_target(target)
        .x_field(x_field)
        .unit(unit)
        .span(span)
        .height(height)
        .show_value(common.VisibilityMode.NEVER)
        .x_tick_label_rotation(-45)
    )
