"""Every query of a dashboard, and its expansion into text a real database can run.

``iter_queries`` lists what Grafana would send (panel targets and query variables);
``expand_sql_macros`` / ``expand_promql`` do what Grafana does before sending it (template
variables, ``$__interval`` and friends, the PostgreSQL macros), so integration tests can run each
panel query against real PostgreSQL and Prometheus without a Grafana server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from grafana import datasources
from grafana.variables import VariableValue, duration, promql_literal, sql_literal, substitute

MACRO = re.compile(r"\$__(?P<name>\w+)\((?P<args>[^()]*)\)")
DEFAULT_INTERVAL = timedelta(minutes=1)
DEFAULT_SCRAPE_INTERVAL = timedelta(seconds=15)


def iter_queries(dashboard: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """Yield ``(panel_title, datasource_uid, query_text)`` for every query of ``dashboard``.

    Panel targets (``rawSql`` or ``expr``; a target without its own datasource inherits the
    panel's) come first, in layout order including rows' nested panels, then query variables
    as ``("variable <name>", uid, query)``.
    """
    panels = list(dashboard.get("panels") or [])
    panels += [nested for panel in panels for nested in panel.get("panels") or []]
    for panel in panels:
        panel_uid = (panel.get("datasource") or {}).get("uid", "")
        for target in panel.get("targets") or []:
            uid = (target.get("datasource") or {}).get("uid") or panel_uid
            text = target.get("rawSql") if "rawSql" in target else target.get("expr")
            if text:
                yield panel.get("title", ""), uid, text
    for variable in (dashboard.get("templating") or {}).get("list") or []:
        query = variable.get("query")
        if variable.get("type") == "query" and isinstance(query, str) and query:
            uid = (variable.get("datasource") or {}).get("uid", "")
            yield f"variable {variable['name']}", uid, query


def _utc(moment: datetime) -> datetime:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _rfc3339(moment: datetime) -> str:
    return "'" + _utc(moment).isoformat().replace("+00:00", "Z") + "'"


def _global_values(
    time_from: datetime, time_to: datetime, interval: timedelta, rate_interval: timedelta
) -> dict[str, VariableValue]:
    span = _utc(time_to) - _utc(time_from)
    if span <= timedelta(0):
        raise ValueError(f"time range is empty: {time_from} .. {time_to}")
    return {
        "__interval": duration(interval),
        "__interval_ms": round(interval.total_seconds() * 1000),
        "__rate_interval": duration(rate_interval),
        "__rate_interval_ms": round(rate_interval.total_seconds() * 1000),
        "__range": duration(span),
        "__range_s": round(span.total_seconds()),
        "__range_ms": round(span.total_seconds() * 1000),
        "__from": round(_utc(time_from).timestamp() * 1000),
        "__to": round(_utc(time_to).timestamp() * 1000),
    }


def _parse_duration(text: str) -> float:
    """Seconds of a Grafana duration argument such as ``'5m'`` or ``1h``."""
    match = re.fullmatch(r"'?(\d+)(ms|s|m|h|d)'?", text.strip())
    if not match:
        raise ValueError(f"bad interval argument {text!r}")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]
    return int(match[1]) * scale


def _macro(name: str, args: list[str], time_from: datetime, time_to: datetime) -> str:
    """One PostgreSQL macro as Grafana's grafana-postgresql-datasource expands it."""
    column = args[0] if args else ""
    start, end = _utc(time_from), _utc(time_to)
    if name in ("timeGroup", "timeGroupAlias", "unixEpochGroup", "unixEpochGroupAlias"):
        if len(args) < 2:
            raise ValueError(f"$__{name} needs (column, interval)")
        step = f"{_parse_duration(args[1]):g}"
        epoch = f"extract(epoch from {column})" if name.startswith("time") else f"({column})"
        group = f"floor({epoch}/{step})*{step}"
        return group + (' AS "time"' if name.endswith("Alias") else "")
    simple = {
        "time": f'{column} AS "time"',
        "timeEpoch": f'extract(epoch from {column}) AS "time"',
        "timeFilter": f"{column} BETWEEN {_rfc3339(start)} AND {_rfc3339(end)}",
        "timeFrom": _rfc3339(start),
        "timeTo": _rfc3339(end),
        "unixEpochFilter": f"{column} >= {int(start.timestamp())} "
        f"AND {column} <= {int(end.timestamp())}",
        "unixEpochFrom": str(int(start.timestamp())),
        "unixEpochTo": str(int(end.timestamp())),
    }
    if name not in simple:
        raise ValueError(f"unknown SQL macro $__{name}()")
    return simple[name]


def expand_sql_macros(
    sql: str,
    time_from: datetime,
    time_to: datetime,
    variables: Mapping[str, VariableValue] | None = None,
    *,
    interval: timedelta = DEFAULT_INTERVAL,
) -> str:
    """SQL as Grafana's PostgreSQL datasource runs it for this time range and these variables.

    Variables first (single values raw with ``'`` doubled, lists as ``'a','b'``), as Grafana's
    frontend does, then the macros: ``$__timeFilter(col)`` -> ``col BETWEEN '<from>' AND
    '<to>'`` (RFC 3339, UTC), ``$__timeFrom()``, ``$__timeTo()``, ``$__time(col)``,
    ``$__timeEpoch(col)``, ``$__timeGroup(col, '5m')``, ``$__unixEpoch*``. Naive datetimes are
    taken as UTC. Raises ValueError on an undefined variable or an unknown macro.
    """
    values = {**_global_values(time_from, time_to, interval, interval), **(variables or {})}
    text = substitute(sql, values, sql_literal)
    return MACRO.sub(
        lambda m: _macro(
            m["name"], [a.strip() for a in m["args"].split(",") if a.strip()], time_from, time_to
        ),
        text,
    )


def expand_promql(
    expr: str,
    time_from: datetime,
    time_to: datetime,
    variables: Mapping[str, VariableValue] | None = None,
    *,
    interval: timedelta = DEFAULT_INTERVAL,
    scrape_interval: timedelta = DEFAULT_SCRAPE_INTERVAL,
) -> str:
    """PromQL as Grafana's Prometheus datasource sends it.

    ``$__rate_interval`` = max(``interval`` + scrape interval, 4 x scrape interval), Grafana's
    rule; multi-valued variables become a regex ``(a|b)``. Raises ValueError on an undefined
    variable.
    """
    rate = max(interval + scrape_interval, 4 * scrape_interval)
    values = {**_global_values(time_from, time_to, interval, rate), **(variables or {})}
    return substitute(expr, values, promql_literal)


def expand_query(
    datasource_uid: str,
    query: str,
    time_from: datetime,
    time_to: datetime,
    variables: Mapping[str, VariableValue] | None = None,
    **options: timedelta,
) -> str:
    """Expand one ``iter_queries`` item by its datasource: SQL for PostgreSQL, else PromQL."""
    if datasource_uid == datasources.POSTGRES_UID:
        return expand_sql_macros(query, time_from, time_to, variables, **options)
    if datasource_uid == datasources.PROMETHEUS_UID:
        return expand_promql(query, time_from, time_to, variables, **options)
    raise ValueError(f"no expansion for datasource uid {datasource_uid!r}")
