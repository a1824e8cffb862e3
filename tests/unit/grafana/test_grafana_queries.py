"""grafana.queries: every query is listed, and expands the way Grafana expands it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from grafana.dashboards import load_committed
from grafana.queries import expand_promql, expand_query, expand_sql_macros, iter_queries
from grafana.variables import duration, referenced

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 26, 16, 0, 0, tzinfo=UTC)

TINY = {
    "panels": [
        {"type": "row", "title": "r", "panels": [
            {"title": "nested", "datasource": {"uid": "p"}, "targets": [{"expr": "up"}]},
        ]},
        {"title": "sql", "datasource": {"uid": "g"},
         "targets": [{"rawSql": "SELECT 1", "datasource": {"uid": "pg"}}, {"expr": "x"}]},
    ],
    "templating": {"list": [
        {"name": "m", "type": "query", "query": "SELECT model_id FROM models",
         "datasource": {"uid": "pg"}},
        {"name": "c", "type": "custom", "query": "a,b"},
    ]},
}  # fmt: skip


def test_iter_queries_lists_targets_nested_panels_and_query_variables() -> None:
    assert list(iter_queries(TINY)) == [
        ("sql", "pg", "SELECT 1"),
        ("sql", "g", "x"),
        ("nested", "p", "up"),
        ("variable m", "pg", "SELECT model_id FROM models"),
    ]


def test_every_committed_query_expands_without_leftover_variables() -> None:
    count = 0
    for dashboard in load_committed():
        for _, uid, query in iter_queries(dashboard):
            text = expand_query(uid, query, T0, T1, {"model_id": "m1", "stream": "f1"})
            assert "$" not in text, text
            count += 1
    assert count >= 40


def test_time_filter_from_and_to() -> None:
    sql = "SELECT 1 WHERE $__timeFilter(window_end) AND a < $__timeTo() AND b > $__timeFrom()"
    assert expand_sql_macros(sql, T0, T1) == (
        "SELECT 1 WHERE window_end BETWEEN '2026-11-26T10:00:00Z' AND '2026-11-26T16:00:00Z'"
        " AND a < '2026-11-26T16:00:00Z' AND b > '2026-11-26T10:00:00Z'"
    )


def test_times_are_rendered_in_utc_and_naive_means_utc() -> None:
    cet = timezone(timedelta(hours=1))
    aware = expand_sql_macros("$__timeFrom()", T0.astimezone(cet), T1)
    naive = expand_sql_macros("$__timeFrom()", T0.replace(tzinfo=None), T1)
    assert aware == naive == "'2026-11-26T10:00:00Z'"


def test_other_macros() -> None:
    assert expand_sql_macros("$__time(t)", T0, T1) == 't AS "time"'
    assert expand_sql_macros("$__timeEpoch(t)", T0, T1) == 'extract(epoch from t) AS "time"'
    assert expand_sql_macros("$__timeGroup(t, '5m')", T0, T1) == (
        "floor(extract(epoch from t)/300)*300"
    )
    assert expand_sql_macros("$__timeGroupAlias(t, $__interval)", T0, T1) == (
        'floor(extract(epoch from t)/60)*60 AS "time"'
    )
    assert expand_sql_macros("$__unixEpochFilter(ts)", T0, T1) == (
        f"ts >= {int(T0.timestamp())} AND ts <= {int(T1.timestamp())}"
    )
    assert expand_sql_macros("$__unixEpochFrom()", T0, T1) == str(int(T0.timestamp()))


def test_global_variables() -> None:
    sql = "$__interval $__interval_ms $__range_s $__from $__to"
    assert expand_sql_macros(sql, T0, T1, interval=timedelta(seconds=30)) == (
        f"30s 30000 21600 {int(T0.timestamp()) * 1000} {int(T1.timestamp()) * 1000}"
    )


def test_sql_variables_are_escaped_like_grafana_does() -> None:
    sql = "WHERE m = '$model_id' AND s IN ($streams) AND x = '${model_id}' AND y = '[[model_id]]'"
    out = expand_sql_macros(sql, T0, T1, {"model_id": "o'k", "streams": ["a", "b'c"]})
    assert out == "WHERE m = 'o''k' AND s IN ('a','b''c') AND x = 'o''k' AND y = 'o''k'"


def test_undefined_variable_and_unknown_macro_raise() -> None:
    with pytest.raises(ValueError, match=r"undefined variable \$stream"):
        expand_sql_macros("WHERE s = '$stream'", T0, T1, {"model_id": "m"})
    with pytest.raises(ValueError, match=r"unknown SQL macro \$__timeFiltre"):
        expand_sql_macros("WHERE $__timeFiltre(t)", T0, T1)
    with pytest.raises(ValueError, match="time range is empty"):
        expand_sql_macros("SELECT 1", T1, T0)


def test_dollar_quoting_and_positional_parameters_are_left_alone() -> None:
    assert expand_sql_macros("SELECT $$a$$, $1", T0, T1) == "SELECT $$a$$, $1"


def test_promql_rate_interval_follows_grafanas_rule() -> None:
    expr = 'rate(x{m="$model_id"}[$__rate_interval])'
    assert expand_promql(expr, T0, T1, {"model_id": "m1"}) == 'rate(x{m="m1"}[75s])'
    fast = expand_promql(expr, T0, T1, {"model_id": "m1"}, interval=timedelta(seconds=2),
                         scrape_interval=timedelta(seconds=1))  # fmt: skip
    assert fast == 'rate(x{m="m1"}[4s])'
    multi = expand_promql('x{m=~"$model_id"}', T0, T1, {"model_id": ["a.b", "c"]})
    assert multi == r'x{m=~"(a\.b|c)"}'
    assert expand_promql("x[$__range]", T0, T1) == "x[6h]"


def test_expand_query_dispatches_on_datasource() -> None:
    assert expand_query("driftmon-postgres", "$__timeTo()", T0, T1) == "'2026-11-26T16:00:00Z'"
    assert expand_query("driftmon-prometheus", "x[$__interval]", T0, T1) == "x[1m]"
    with pytest.raises(ValueError, match="no expansion"):
        expand_query("other", "x", T0, T1)


def test_referenced_and_duration() -> None:
    text = "$a ${b} ${c:csv} [[d]] $__timeFilter(t) $__interval $$ $1"
    assert referenced(text) == {"a", "b", "c", "d", "__interval"}
    assert [duration(timedelta(seconds=s)) for s in (60, 90, 21600, 1.5)] == [
        "1m", "90s", "6h", "1500ms"
    ]  # fmt: skip
