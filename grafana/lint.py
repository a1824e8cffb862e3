"""Offline checks of dashboard JSON: what would break only once Grafana is running.

``lint`` returns human-readable problems (empty list = clean): datasource uids that are not
provisioned, PromQL that does not parse or names a metric nobody exports, variables used but
not defined, unknown SQL macros, SQL time series without a ``time`` column, missing or
duplicate panel ids and refIds, and duplicate dashboard uids.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import promql_parser

from grafana import datasources, metrics
from grafana.dashboards import all_panels
from grafana.queries import MACRO, expand_promql
from grafana.variables import GLOBAL_VARIABLES, referenced

BUILTIN_DATASOURCES = frozenset({datasources.GRAFANA_BUILTIN_UID, "grafana", "-- Mixed --"})
SQL_MACROS = frozenset({
    "time", "timeEpoch", "timeFilter", "timeFrom", "timeTo", "timeGroup", "timeGroupAlias",
    "unixEpochFilter", "unixEpochFrom", "unixEpochTo", "unixEpochGroup", "unixEpochGroupAlias",
})  # fmt: skip
TIME_COLUMN = re.compile(r'\bAS\s+"?time"?\b|\$__(time|timeEpoch|timeGroupAlias)\(', re.I)
_T1 = datetime(2026, 1, 1, tzinfo=UTC)
Dashboard = Mapping[str, Any]


def promql_metric_names(expr: str) -> set[str]:
    """Metric names selected by a PromQL expression (name or ``{__name__="..."}``)."""
    names: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            for matcher in node.matchers.matchers:
                if matcher.name == "__name__" and matcher.op == promql_parser.MatchOp.Equal:
                    names.add(matcher.value)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def _check_promql(expr: str, known_metrics: Collection[str]) -> Iterator[str]:
    placeholders = {name: "placeholder" for name in referenced(expr) - GLOBAL_VARIABLES}
    try:
        names = promql_metric_names(
            expand_promql(expr, _T1 - timedelta(hours=1), _T1, placeholders)
        )
    except ValueError as exc:
        yield f"PromQL does not parse ({exc}): {expr}"
        return
    for name in sorted(names - set(known_metrics)):
        yield f"metric {name!r} is not exported (contract or recording rules): {expr}"


def _check_sql(target: Mapping[str, Any]) -> Iterator[str]:
    sql = target.get("rawSql", "")
    for macro in sorted({m["name"] for m in MACRO.finditer(sql)} - SQL_MACROS):
        yield f"unknown SQL macro $__{macro}()"
    if target.get("format") not in ("table", "time_series"):
        yield f"SQL format must be table or time_series, not {target.get('format')!r}"
    if target.get("format") == "time_series" and not TIME_COLUMN.search(sql):
        yield 'SQL time series selects no "time" column'
    if target.get("rawQuery") is not True:
        yield "SQL target is not a raw query (rawQuery: true)"


def _check_target(target: Mapping[str, Any], panel_uid: str, ctx: _Context) -> Iterator[str]:
    uid = (target.get("datasource") or {}).get("uid") or panel_uid
    if uid not in ctx.datasource_uids:
        yield f"datasource uid {uid!r} is not provisioned"
    if "rawSql" in target:
        yield from _check_sql(target)
    elif "expr" in target:
        yield from _check_promql(str(target["expr"]), ctx.metrics)
    else:
        yield "target has neither rawSql nor expr"
    texts = [str(target.get(key, "")) for key in ("rawSql", "expr", "legendFormat")]
    yield from ctx.undefined(texts)


class _Context:
    """What a dashboard may reference: provisioned uids, exported metrics, its variables."""

    def __init__(self, dashboard: Dashboard, uids: Collection[str], known: Collection[str]):
        self.datasource_uids = set(uids) | BUILTIN_DATASOURCES
        self.metrics = known
        templating = (dashboard.get("templating") or {}).get("list") or []
        self.variables = {str(v.get("name")) for v in templating} | GLOBAL_VARIABLES

    def undefined(self, texts: Sequence[str]) -> Iterator[str]:
        for name in sorted(set().union(*(referenced(t) for t in texts)) - self.variables):
            yield f"variable ${name} is not defined"


def _panel_problems(panel: Mapping[str, Any], ctx: _Context) -> Iterator[str]:
    panel_uid = (panel.get("datasource") or {}).get("uid", "")
    if panel_uid and panel_uid not in ctx.datasource_uids:
        yield f"datasource uid {panel_uid!r} is not provisioned"
    yield from ctx.undefined([str(panel.get("title", ""))])
    targets = panel.get("targets") or []
    if panel.get("type") != "row" and not targets:
        yield "panel has no queries"
    for ref_id, count in Counter(str(t.get("refId", "")) for t in targets).items():
        if not ref_id or count > 1:
            yield f"refId {ref_id!r} is empty or repeated"
    for target in targets:
        yield from _check_target(target, panel_uid, ctx)


def _dashboard_problems(dashboard: Dashboard, ctx: _Context) -> Iterator[str]:
    panels = list(all_panels(dict(dashboard)))
    ids = Counter(panel.get("id") for panel in panels)
    for panel_id, count in ids.items():
        if not isinstance(panel_id, int) or count > 1:
            yield f"panel id {panel_id!r} is missing or used {count} times"
    for panel in panels:
        for problem in _panel_problems(panel, ctx):
            yield f"panel {panel.get('id')} {panel.get('title', '')!r}: {problem}"
    for variable in (dashboard.get("templating") or {}).get("list") or []:
        uid = (variable.get("datasource") or {}).get("uid")
        if uid is not None and uid not in ctx.datasource_uids:
            yield f"variable {variable.get('name')}: datasource uid {uid!r} is not provisioned"
        for problem in ctx.undefined([str(variable.get("query", ""))]):
            yield f"variable {variable.get('name')}: {problem}"
    for annotation in (dashboard.get("annotations") or {}).get("list") or []:
        uid = (annotation.get("datasource") or {}).get("uid")
        if uid is not None and uid not in ctx.datasource_uids:
            yield f"annotation {annotation.get('name')}: datasource uid {uid!r} is not provisioned"
        tags = (annotation.get("target") or {}).get("tags") or []
        for problem in ctx.undefined([str(tag) for tag in tags]):
            yield f"annotation {annotation.get('name')}: {problem}"


def lint(
    dashboards: Sequence[Dashboard],
    datasource_uids: Collection[str] | None = None,
    known_metrics: Collection[str] | None = None,
) -> list[str]:
    """Problems of ``dashboards`` (empty when clean), each prefixed with the dashboard uid.

    Defaults: the uids in grafana/provisioning and ``metrics.exported_metrics()``.
    """
    uids = datasource_uids if datasource_uids is not None else datasources.provisioned_datasources()
    known = known_metrics if known_metrics is not None else metrics.exported_metrics()
    problems = []
    for uid, count in Counter(d.get("uid") for d in dashboards).items():
        if not uid or count > 1:
            problems.append(f"dashboard uid {uid!r} is missing or used {count} times")
    for dashboard in dashboards:
        ctx = _Context(dashboard, uids, known)
        problems += [f"{dashboard.get('uid')}: {p}" for p in _dashboard_problems(dashboard, ctx)]
    return problems
