"""The performance gauges of the sinks process: set from a verdict, removed without one."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from drift.performance import PerformanceVerdict
from sinks.performance_job import ModelPerformance, PerformanceMetrics

pytestmark = pytest.mark.unit


def judged(status: str, p: float | None) -> ModelPerformance:
    verdict = PerformanceVerdict(status, 0.7, 0.85 if p is not None else None, 0.15, p, 24)
    return ModelPerformance("m", 3600.0, 0.8, verdict)


def test_verdict_gauges_follow_the_verdict_and_go_while_data_are_insufficient():
    registry = CollectorRegistry()
    metrics = PerformanceMetrics(registry)

    def value(name: str) -> float | None:
        return registry.get_sample_value(name, {"model_id": "m"})

    metrics.observe([judged("degraded", 1e-6)], {"m": 0.86}, unmatched=3)
    assert value("drift_performance_degraded") == 1
    assert value("drift_performance_p_value") == 1e-6
    assert value("drift_performance_accuracy") == 0.7
    assert value("drift_performance_baseline_accuracy") == 0.85
    assert value("drift_performance_estimated_accuracy") == 0.86
    assert value("drift_performance_labelled_share") == 0.8
    assert value("drift_performance_window_start_timestamp_seconds") == 3600.0
    assert registry.get_sample_value("drift_labels_unmatched") == 3
    metrics.observe([judged("ok", 0.4)], {}, unmatched=0)
    assert value("drift_performance_degraded") == 0
    metrics.observe([judged("insufficient_data", None)], {}, unmatched=0)
    assert value("drift_performance_degraded") is None
    assert value("drift_performance_p_value") is None
    assert value("drift_performance_baseline_accuracy") is None
    assert value("drift_performance_accuracy") == 0.7  # the labels in hand still say this
