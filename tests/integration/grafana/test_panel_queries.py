"""Issue 7 on real services: every query of every committed dashboard returns data.

After a drift episode on the live stack (worker writing drift_runs / alerts, Alertmanager
notifying the API's webhook, Prometheus scraping worker and API), plus one record for the
dead-letter queue and a few events too late for any window, each panel query and query variable
of grafana/dashboards/*.json is expanded as Grafana would (grafana.queries) and run against the
real Prometheus (range query) or PostgreSQL (as the read-only login ``driftmon_grafana``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from drift.topics import Topics
from grafana import datasources
from grafana.queries import expand_promql, expand_sql_macros, iter_queries
from harness import KafkaBroker, PostgresServer
from tests.integration.live_parts import deadline_poll
from tests.integration.live_stack import (
    MODEL,
    STREAM,
    Feeder,
    LiveStack,
    drift_episode,
    live_stack,
    worker_gauge,
)
from tests.integration.workers import produce

pytestmark = pytest.mark.integration

DASHBOARDS = sorted((Path(__file__).resolve().parents[3] / "grafana" / "dashboards").glob("*.json"))
VARIABLES = {"model_id": MODEL, "stream": STREAM}
STEP = timedelta(seconds=1)  # Grafana's $__interval for a short range; also the scrape interval
GRAFANA_LOGIN = ("driftmon_grafana", "grafana-test-secret")


@pytest.fixture(scope="module")
def scenario(
    kafka: KafkaBroker, postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveStack, datetime]]:
    """The stack after a drift episode, a rejected record and late events; and its start."""
    started = datetime.now(UTC) - timedelta(seconds=5)
    with live_stack(kafka, postgres, tmp_path_factory.mktemp("panels")) as stack:
        feeder = Feeder(stack.api.url)
        feeder.labels = True  # performance panels: labels for every event, windows of 1 min
        feeder.embeddings = 8  # the vector-stream panels: embedding.v, no drift
        feeder.start()
        try:
            produce(stack.bootstrap, Topics(f"{stack.prefix}-").events, [(MODEL, b"not json")])
            drift_episode(stack, feeder)
            late = feeder.batch(time.time() - 3600, 5)  # an hour ago: older than any window
            resp = httpx.post(f"{stack.api.url}/inference/batch", json=late, timeout=10)
            assert resp.status_code == 202, resp.text
            stack.poll(
                lambda: worker_gauge(stack, "drift_late_events_total", model_id=MODEL),
                30,
                "late events counted by the worker",
            )
            for gauge in ("baseline_accuracy", "estimated_accuracy", "degraded"):
                stack.poll(  # a labelled window after an earlier labelled one: 1-2 minutes
                    lambda g=gauge: stack.prom_query(f"drift_performance_{g}"),
                    180,
                    f"drift_performance_{gauge} scraped from the sinks process",
                )
        finally:
            feeder.stop()
        assert not feeder.errors, feeder.errors
        yield stack, started


def grafana_dsn(postgres: PostgresServer, dsn: str) -> str:
    """The stack's database as the read-only login Grafana's datasource uses."""
    user, password = GRAFANA_LOGIN
    postgres.create_login(user, password, member_of="driftmon_reader")
    return make_conninfo(dsn, user=user, password=password)


def prometheus_has_data(url: str, expr: str, start: datetime, end: datetime) -> bool:
    """The range query answers at least one series holding a finite value."""
    params: dict[str, Any] = {
        "query": expr,
        "start": start.timestamp(),
        "end": end.timestamp(),
        "step": STEP.total_seconds(),
    }
    resp = httpx.get(f"{url}/api/v1/query_range", params=params, timeout=30)
    assert resp.status_code == 200, f"{expr}: {resp.text}"
    series = resp.json()["data"]["result"]
    return any(math.isfinite(float(v)) for s in series for _, v in s["values"])


def postgres_has_data(dsn: str, sql: str) -> bool:
    with psycopg.connect(dsn) as conn:
        conn.read_only = True
        return conn.execute(sql).fetchone() is not None


def empty_panels(stack: LiveStack, dsn: str, start: datetime) -> list[str]:
    """``dashboard: panel -> expanded query`` for every query that returns nothing."""
    end = datetime.now(UTC)
    empty = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for title, uid, text in iter_queries(dashboard):
            if uid == datasources.PROMETHEUS_UID:
                expr = expand_promql(
                    text, start, end, VARIABLES, interval=STEP, scrape_interval=STEP
                )
                ok = prometheus_has_data(stack.prometheus.url, expr, start, end)
            else:
                assert uid == datasources.POSTGRES_UID, f"{path.name}: {title}: uid {uid!r}"
                expr = expand_sql_macros(text, start, end, VARIABLES, interval=STEP)
                ok = postgres_has_data(dsn, expr)
            if not ok:
                empty.append(f"{path.stem}: {title} -> {' '.join(expr.split())}")
    return empty


def test_every_panel_query_returns_data(
    scenario: tuple[LiveStack, datetime], postgres: PostgresServer
) -> None:
    stack, started = scenario
    assert len(DASHBOARDS) == 3, DASHBOARDS
    dsn = grafana_dsn(postgres, stack.dsn)
    empty: list[str] = []

    def all_answer() -> bool:
        # rates and recording rules need a few evaluations after the last counter moved
        empty[:] = empty_panels(stack, dsn, started)
        return not empty

    try:
        deadline_poll(all_answer, 30, "every panel query to return data")
    except AssertionError:
        pytest.fail(f"{len(empty)} panel queries return no data:\n" + "\n".join(empty))


def test_grafana_login_cannot_write(
    scenario: tuple[LiveStack, datetime], postgres: PostgresServer
) -> None:
    """The panels above ran as a reader: the same login is refused a write."""
    stack, _ = scenario
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege),
        psycopg.connect(grafana_dsn(postgres, stack.dsn)) as conn,
    ):
        conn.execute("DELETE FROM alert_notifications")


def test_annotation_queries_match_the_workers_annotations(
    scenario: tuple[LiveStack, datetime],
) -> None:
    """Each dashboard's "Drift alerts" tag query finds the annotations the worker posted."""
    stack, _ = scenario
    posted = [set(body["tags"]) for body in stack.grafana.received()]
    assert posted, "the worker posted no annotation"
    for path in DASHBOARDS:
        for item in json.loads(path.read_text())["annotations"]["list"]:
            target = item.get("target") or {}
            if target.get("type") != "tags":
                continue
            tags = {VARIABLES.get(t.lstrip("$"), t) for t in target["tags"]}
            assert any(tags <= got for got in posted), (path.name, tags, posted)


def test_the_stream_variable_lists_value_streams_only(
    scenario: tuple[LiveStack, datetime], postgres: PostgresServer
) -> None:
    """The model dashboard's stream row (bins, per-bin statistics) repeats over ``$stream``: its
    variable lists the model's streams of values, not its vector streams (their own row)."""
    stack, started = scenario
    dashboard = json.loads((DASHBOARDS[0].parent / "driftmon-model.json").read_text())
    [query] = [q for title, _, q in iter_queries(dashboard) if title == "variable stream"]
    sql = expand_sql_macros(query, started, datetime.now(UTC), VARIABLES, interval=STEP)
    with psycopg.connect(grafana_dsn(postgres, stack.dsn)) as conn:
        listed = {row[0] for row in conn.execute(sql)}
        vectors = {
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT stream FROM drift_runs WHERE model_id = %s "
                "AND stream_kind = 'vector'",
                (MODEL,),
            )
        }
    assert STREAM in listed and vectors, (listed, vectors)
    assert not listed & vectors, listed & vectors
