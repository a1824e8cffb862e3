"""The worker's verdict gauges: drift_p_value, drift_score, drift_score_limit and
drift_baseline_frozen per (model, stream), their removal and the model cap."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from drift import StreamEvaluation, model_verdict
from stream_app.evaluation import ModelReport
from stream_app.metrics import WorkerMetrics
from stream_app.processor import Output

pytestmark = pytest.mark.unit


def evaluation(stream: str, status: str = "ok", **verdict: Any) -> StreamEvaluation:
    return StreamEvaluation(
        stream=stream,
        kind="numeric",
        status=status,  # type: ignore[arg-type]
        metrics={"kl_divergence": 0.05},
        drifted_metrics=(),
        recent_count=500,
        baseline_count=5000,
        bins=None,
        **verdict,
    )


def output(model_id: str, *streams: tuple[StreamEvaluation, str]) -> Output:
    evals = tuple(ev for ev, _ in streams)
    results = tuple({"stream": ev.stream, "baseline_mode": mode} for ev, mode in streams)
    report = ModelReport(model_id, 3600, evals, model_verdict(evals), results, ())
    return Output(reports=[report])


def calibrated(stream: str, status: str, p: float) -> StreamEvaluation:
    return evaluation(stream, status, rule="calibrated", p_value=p, q_value=p, score=4.0, limit=2.5)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def sample(registry: CollectorRegistry, name: str, model: str, stream: str) -> float | None:
    return registry.get_sample_value(name, {"model_id": model, "stream": stream})


def test_calibrated_verdict_sets_p_value_score_limit_and_frozen(registry):
    metrics = WorkerMetrics(registry)
    metrics.observe(
        output(
            "m1",
            (calibrated("x", "drift", 1e-4), "frozen"),
            (calibrated("y", "ok", 0.4), "rolling"),
        ),
        {},
        0.01,
    )
    assert sample(registry, "drift_p_value", "m1", "x") == 1e-4
    assert sample(registry, "drift_score", "m1", "x") == 4.0
    assert sample(registry, "drift_score_limit", "m1", "x") == 2.5
    assert sample(registry, "drift_baseline_frozen", "m1", "x") == 1
    assert sample(registry, "drift_baseline_frozen", "m1", "y") == 0
    assert sample(registry, "drift_p_value", "m1", "y") == 0.4


def test_insufficient_data_removes_the_verdict_series(registry):
    metrics = WorkerMetrics(registry)
    metrics.observe(output("m1", (calibrated("x", "drift", 1e-4), "frozen")), {}, 0.01)
    metrics.observe(output("m1", (evaluation("x", "insufficient_data"), "rolling")), {}, 0.01)
    for name in ("drift_p_value", "drift_score", "drift_score_limit", "drift_detected"):
        assert sample(registry, name, "m1", "x") is None, name
    assert sample(registry, "drift_baseline_frozen", "m1", "x") == 0
    # removing a series never set is not an error
    metrics.observe(output("m1", (evaluation("z", "insufficient_data"), "rolling")), {}, 0.01)
    assert sample(registry, "drift_score", "m1", "z") is None


def test_fixed_rule_has_a_score_against_1_and_no_p_value(registry):
    metrics = WorkerMetrics(registry)
    metrics.observe(output("m1", (calibrated("x", "ok", 0.3), "rolling")), {}, 0.01)
    fixed = evaluation("x", "drift", rule="fixed", score=1.8, limit=1.0)
    metrics.observe(output("m1", (fixed, "pinned")), {}, 0.01)
    assert sample(registry, "drift_p_value", "m1", "x") is None
    assert sample(registry, "drift_score", "m1", "x") == 1.8
    assert sample(registry, "drift_score_limit", "m1", "x") == 1.0
    assert sample(registry, "drift_baseline_frozen", "m1", "x") == 0


def test_models_beyond_the_series_cap_get_no_verdict_series(registry):
    metrics = WorkerMetrics(registry, max_series_models=1)
    metrics.observe(output("m1", (calibrated("x", "ok", 0.3), "rolling")), {}, 0.01)
    metrics.observe(output("m2", (calibrated("x", "drift", 1e-6), "frozen")), {}, 0.01)
    assert sample(registry, "drift_score", "m1", "x") == 4.0
    for name in ("drift_p_value", "drift_score", "drift_score_limit", "drift_baseline_frozen"):
        assert sample(registry, name, "m2", "x") is None, name


def _quality_output(model_id: str, issues: dict[str, list[str]]) -> Output:
    evals = tuple(evaluation(s) for s in issues)
    results = tuple(
        {
            "stream": s,
            "baseline_mode": "rolling",
            "quality": {"issues": found, "missing_share": 0.2 if "missing" in found else 0.0},
        }
        for s, found in issues.items()
    )
    return Output(reports=[ModelReport(model_id, 3600, evals, model_verdict(evals), results, ())])


def test_quality_issues_are_series_while_they_hold(registry):
    metrics = WorkerMetrics(registry)

    def issue(stream: str, name: str) -> float | None:
        labels = {"model_id": "m1", "stream": stream, "issue": name}
        return registry.get_sample_value("drift_quality_issue", labels)

    metrics.observe(
        _quality_output("m1", {"x": ["missing"], "c": ["new_category"], "y": []}), {}, 0
    )
    assert issue("x", "missing") == 1 and issue("c", "new_category") == 1
    assert issue("y", "missing") is None
    assert sample(registry, "drift_missing_share", "m1", "x") == 0.2
    assert sample(registry, "drift_missing_share", "m1", "y") == 0.0
    metrics.observe(_quality_output("m1", {"x": [], "c": ["new_category"], "y": []}), {}, 0)
    assert issue("x", "missing") is None and issue("c", "new_category") == 1  # cleared: removed
    metrics.forget("m1")
    assert issue("c", "new_category") is None
    assert sample(registry, "drift_missing_share", "m1", "x") is None
