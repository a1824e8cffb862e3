"""The metric names the policy computes, the API accepts and drift_runs stores are one list."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.schemas.drift import METRICS, RUN_METRICS
from drift.policy import Thresholds
from drift.vector_streams import VECTOR_METRICS
from sinks.writers import METRIC_COLUMNS

pytestmark = pytest.mark.unit


def test_api_worker_and_policy_share_the_metric_names():
    assert tuple(Thresholds.DIRECTIONS) == METRICS
    assert RUN_METRICS == METRIC_COLUMNS == (*METRICS, *VECTOR_METRICS)


def test_drift_runs_has_a_column_per_metric():
    schema = (Path(__file__).parents[2] / "sql" / "001_init.sql").read_text()
    table = schema.split("CREATE TABLE drift_runs", 1)[1].split(");", 1)[0]
    for metric in METRICS:
        assert f"\n    {metric} " in table, metric
    vectors = (Path(__file__).parents[2] / "sql" / "009_vector_streams.sql").read_text()
    for metric in VECTOR_METRICS:
        assert f"ADD COLUMN {metric} " in vectors, metric
