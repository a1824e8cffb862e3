"""grafana.lint: clean on the committed dashboards, and it catches each kind of seeded mistake."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from grafana import dashboards, metrics
from grafana.lint import lint, promql_metric_names

pytestmark = pytest.mark.unit


@pytest.fixture
def boards() -> list[dict[str, Any]]:
    return copy.deepcopy(dashboards.load_committed())


def _by_uid(boards: list[dict[str, Any]], uid: str) -> dict[str, Any]:
    return next(d for d in boards if d["uid"] == uid)


def _panel(board: dict[str, Any], title: str) -> dict[str, Any]:
    return next(p for p in dashboards.all_panels(board) if p.get("title") == title)


def test_committed_dashboards_have_no_problems(boards: list[dict[str, Any]]) -> None:
    assert lint(boards) == []


def test_catches_an_unprovisioned_datasource_uid(boards: list[dict[str, Any]]) -> None:
    panel = _panel(_by_uid(boards, "driftmon-overview"), "Alert feed")
    panel["targets"][0]["datasource"]["uid"] = "postgres-typo"
    (problem,) = lint(boards)
    assert "driftmon-overview" in problem and "Alert feed" in problem
    assert "'postgres-typo' is not provisioned" in problem


def test_catches_promql_that_does_not_parse(boards: list[dict[str, Any]]) -> None:
    panel = _panel(_by_uid(boards, "driftmon-pipeline"), "Consumer lag")
    panel["targets"][0]["expr"] = "sum by (topic) (drift_consumer_lag_records"
    (problem,) = lint(boards)
    assert "PromQL does not parse" in problem and "Consumer lag" in problem


def test_catches_an_unknown_metric(boards: list[dict[str, Any]]) -> None:
    panel = _panel(_by_uid(boards, "driftmon-overview"), "Cosine similarity")
    panel["targets"][0]["expr"] = "drift_cosine_similiarity"
    (problem,) = lint(boards)
    assert "'drift_cosine_similiarity' is not exported" in problem


def test_catches_an_undefined_variable(boards: list[dict[str, Any]]) -> None:
    model = _by_uid(boards, "driftmon-model")
    panel = _panel(model, "Sample counts of $stream")
    panel["targets"][0]["rawSql"] = panel["targets"][0]["rawSql"].replace("$stream", "$feature")
    (problem,) = lint(boards)
    assert "variable $feature is not defined" in problem


def test_catches_a_variable_removed_from_templating(boards: list[dict[str, Any]]) -> None:
    model = _by_uid(boards, "driftmon-model")
    model["templating"]["list"] = [v for v in model["templating"]["list"] if v["name"] != "stream"]
    problems = lint(boards)
    assert problems and all("$stream is not defined" in p for p in problems)


def test_catches_duplicate_panel_ids(boards: list[dict[str, Any]]) -> None:
    pipeline = _by_uid(boards, "driftmon-pipeline")
    panels = list(dashboards.all_panels(pipeline))
    panels[3]["id"] = panels[2]["id"]
    assert lint(boards) == [
        f"driftmon-pipeline: panel id {panels[2]['id']} is missing or used 2 times"
    ]


def test_catches_duplicate_dashboard_uids(boards: list[dict[str, Any]]) -> None:
    _by_uid(boards, "driftmon-pipeline")["uid"] = "driftmon-model"
    assert "dashboard uid 'driftmon-model' is missing or used 2 times" in lint(boards)


def test_catches_sql_mistakes(boards: list[dict[str, Any]]) -> None:
    model = _by_uid(boards, "driftmon-model")
    target = _panel(model, "Statistics of $stream")["targets"][0]
    target["rawSql"] = "SELECT window_end, psi FROM drift_runs WHERE $__timeFiltre(window_end)"
    problems = lint(boards)
    assert any("unknown SQL macro $__timeFiltre()" in p for p in problems)
    assert any('selects no "time" column' in p for p in problems)


def test_catches_a_repeated_ref_id(boards: list[dict[str, Any]]) -> None:
    panel = _panel(_by_uid(boards, "driftmon-pipeline"), "Evaluation time")
    panel["targets"][1]["refId"] = "A"
    (problem,) = lint(boards)
    assert "refId 'A' is empty or repeated" in problem


def test_recording_rules_count_as_exported_metrics(
    boards: list[dict[str, Any]], tmp_path: Path
) -> None:
    panel = _panel(_by_uid(boards, "driftmon-overview"), "Events/s per model")
    panel["targets"][0]["expr"] = "model:drift_events:rate5m"
    contract = metrics.contract_metrics()
    assert len(lint(boards, known_metrics=contract | metrics.PROMETHEUS_BUILTINS)) >= 1
    (tmp_path / "rules.yml").write_text(
        "groups:\n  - name: g\n    rules:\n"
        "      - record: model:drift_events:rate5m\n        expr: sum(drift_events_total)\n"
        "      - alert: X\n        expr: up == 0\n"
    )
    known = metrics.exported_metrics(rules_dir=tmp_path)
    assert "model:drift_events:rate5m" in known and "X" not in known
    assert not [p for p in lint(boards, known_metrics=known) if "Events/s per model" in p]


def test_contract_is_read_from_the_architecture_doc(tmp_path: Path) -> None:
    doc = tmp_path / "architecture.md"
    doc.write_text(
        "# A\n## Prometheus metrics (contract)\n| metric | type | labels |\n|---|---|---|\n"
        "| `a_gauge`, `b_gauge` | gauge | x |\n| `c_seconds` | histogram | — |\n"
        "| `d_total` (note with `not_a_metric`) | counter | — |\n## Next\n| `e` | gauge | |\n"
    )
    names = metrics.contract_metrics(doc)
    assert {"a_gauge", "b_gauge", "c_seconds_bucket", "c_seconds_count", "d_total"} <= names
    assert "c_seconds" not in names and "e" not in names and "not_a_metric" not in names


def test_real_contract_includes_histogram_series() -> None:
    names = metrics.contract_metrics()
    assert "drift_evaluation_duration_seconds_bucket" in names
    assert "drift_kl_divergence" in names and "drift_events_total" in names


def test_promql_metric_names() -> None:
    expr = 'rate({__name__="x_total"}[5m]) / on() group_left sum(y) + vector(1) * time()'
    assert promql_metric_names(expr) == {"x_total", "y"}
