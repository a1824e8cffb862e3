"""Dashboards as code: build every dashboard, number its panels, render and compare the JSON.

The JSON files in ``grafana/dashboards/`` are generated (``driftmon grafana build``) and
committed, so Grafana's file provider and docker-compose need no Python; ``stale_files`` is the
check that they still equal a fresh build. Rendering is deterministic (sorted keys, fixed
indentation), so a diff of the files is a diff of the dashboards.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync, DashboardLinkType

from grafana import datasources, model_detail, overview, pipeline

DASHBOARDS_DIR = datasources.PACKAGE_DIR / "dashboards"
TAG = "driftmon"

# Builder and the annotation tags it shows (annotations come from grafana.annotations).
BOARDS: tuple[tuple[Callable[[], dashboard_builder.Dashboard], list[str]], ...] = (
    (overview.build, [TAG]),
    (model_detail.build, [TAG, "$model_id"]),
    (pipeline.build, [TAG]),
)


def _finish(
    board: dashboard_builder.Dashboard, annotation_tags: list[str]
) -> dashboard_builder.Dashboard:
    """Settings every driftmon dashboard shares: tags, time, refresh, links, annotations."""
    return (
        board.tags([TAG])
        .time("now-6h", "now")
        .refresh("30s")
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .link(
            dashboard_builder.DashboardLink("AI Drift Monitor")
            .type(DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
        .annotation(
            dashboard_builder.AnnotationQuery()
            .name("Drift alerts")
            .datasource(datasources.grafana_builtin())
            .enable(True)
            .icon_color("red")
            .target(
                dashboard_builder.AnnotationTarget()
                .type("tags")
                .tags(annotation_tags)
                .match_any(False)
                .limit(200)
            )
        )
    )


def all_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel in layout order, including those nested in (collapsed) rows."""
    for panel in dashboard.get("panels") or []:
        yield panel
        yield from panel.get("panels") or []


def assign_panel_ids(dashboard: dict[str, Any]) -> dict[str, Any]:
    """Number the panels 1..n in layout order (the SDK leaves ``id`` unset); returns the input."""
    for number, panel in enumerate(all_panels(dashboard), start=1):
        panel["id"] = number
    return dashboard


def build_all() -> dict[str, dict[str, Any]]:
    """Every dashboard as Grafana JSON, keyed by file name (``<uid>.json``)."""
    built: dict[str, dict[str, Any]] = {}
    for build, tags in BOARDS:
        model = _finish(build(), tags).build()
        dashboard = assign_panel_ids(json.loads(json.dumps(model, cls=JSONEncoder)))
        built[f"{dashboard['uid']}.json"] = dashboard
    return built


def render(dashboard: dict[str, Any]) -> str:
    """Deterministic JSON text of one dashboard (what is committed)."""
    return json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(out_dir: Path = DASHBOARDS_DIR) -> list[Path]:
    """Regenerate the JSON files in ``out_dir``; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, dashboard in build_all().items():
        path = out_dir / name
        path.write_text(render(dashboard), encoding="utf-8")
        written.append(path)
    return written


def stale_files(out_dir: Path = DASHBOARDS_DIR) -> list[str]:
    """Names of files that differ from a fresh build, are missing, or are not built any more."""
    fresh = {name: render(dashboard) for name, dashboard in build_all().items()}
    on_disk = {path.name: path.read_text(encoding="utf-8") for path in out_dir.glob("*.json")}
    return sorted(
        name for name in fresh.keys() | on_disk.keys() if fresh.get(name) != on_disk.get(name)
    )


def load_committed(out_dir: Path = DASHBOARDS_DIR) -> list[dict[str, Any]]:
    """The committed dashboards, parsed (what Grafana will load); raises if there are none."""
    paths = sorted(out_dir.glob("*.json"))
    if not paths:
        raise FileNotFoundError(f"no dashboards in {out_dir}: run `driftmon grafana build`")
    return [json.loads(path.read_text(encoding="utf-8")) for path in paths]
