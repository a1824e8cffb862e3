"""GET /models/{id}/performance on a real PostgreSQL: the windows the performance job computed
from logged inferences and delayed labels, realised next to estimated, with range and limit."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import psycopg
import pytest

from drift.labels import LabelEvent
from sinks.performance_store import PerformanceSettings, compute_dirty, store_labels
from tests.integration.performance.perf_support import log_inferences

pytestmark = pytest.mark.integration
HOUR = 3600
T0 = 1_796_083_200  # 2026-12-01T00:00Z


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def _fill(dsn: str, hours: int, per_hour: int, concept_from: int) -> None:
    """Inferences of a calibrated binary classifier, labelled a day later; from hour
    ``concept_from`` on the relation to the label changes (accuracy falls by 0.25)."""
    rng = np.random.default_rng(11)
    events, labels = [], []
    for hour in range(hours):
        conf = 0.5 + 0.5 * rng.beta(5.0, 2.0, per_hour)
        drop = 0.25 if hour >= concept_from else 0.0
        right = rng.random(per_hour) < np.clip(conf - drop, 0, 1)
        truth = rng.choice(["yes", "no"], per_hour)
        pred = np.where(right, truth, np.where(truth == "yes", "no", "yes"))
        times = T0 + hour * HOUR + rng.uniform(0, HOUR, per_hour)
        for i in range(per_hour):
            eid = f"h{hour}-{i}"
            events.append((eid, float(times[i]), str(pred[i]), float(conf[i]), str(truth[i])))
            labels.append(LabelEvent("m", eid, str(truth[i]), float(times[i]) + 86_400))
    with psycopg.connect(dsn) as conn:
        log_inferences(conn, "m", events)
        settings = PerformanceSettings()
        store_labels(conn, labels, settings, T0 + (hours + 24) * HOUR)
        conn.commit()
        assert compute_dirty(conn, settings) == hours
        conn.commit()


def test_performance_windows_are_served_oldest_first_with_realised_and_estimated(api):
    _fill(api.dsn, hours=6, per_hour=1000, concept_from=4)
    body = api.client.get("/models/m/performance").raise_for_status().json()
    items = body["items"]
    assert body["model_id"] == "m" and len(items) == 6
    starts = [w["window_start"] for w in items]
    assert starts == sorted(starts)
    with psycopg.connect(api.dsn) as conn:
        stored = conn.execute(
            "SELECT accuracy, estimated_accuracy, labelled FROM performance_windows"
            " WHERE model_id = 'm' ORDER BY window_start"
        ).fetchall()
    assert [(w["accuracy"], w["estimated_accuracy"], w["labelled"]) for w in items] == [
        tuple(r) for r in stored
    ]
    first = items[0]
    assert first["task"] == "classification" and first["inferences"] == 1000
    assert first["labelled_share"] == 1.0 and first["too_late"] == 0
    assert set(first["confusion"]) == {"yes", "no"}
    assert set(first["per_class"]["yes"]) >= {"precision", "recall", "f1"}
    # the estimate needs a labelled reference before the window: none for the first hour;
    # then it tracks the calibrated hours; the concept change shows in the realised figure
    assert first["estimated_accuracy"] is None
    calm, drifted = items[1:4], items[4:]
    assert all(abs(w["estimated_accuracy"] - w["accuracy"]) < 0.06 for w in calm)
    assert all(w["accuracy"] < calm[0]["accuracy"] - 0.15 for w in drifted)


def test_the_range_and_limit_select_windows_and_bad_input_is_named(api):
    _fill(api.dsn, hours=5, per_hour=50, concept_from=99)
    ranged = (
        api.client.get(
            "/models/m/performance", params={"from": _iso(T0 + HOUR), "to": _iso(T0 + 3 * HOUR)}
        )
        .raise_for_status()
        .json()["items"]
    )
    assert [w["window_start"][:19] for w in ranged] == [
        _iso(T0 + HOUR)[:19],
        _iso(T0 + 2 * HOUR)[:19],
    ]
    newest = api.client.get("/models/m/performance", params={"limit": 2}).json()["items"]
    assert [w["window_start"][:19] for w in newest] == [
        _iso(T0 + 3 * HOUR)[:19],
        _iso(T0 + 4 * HOUR)[:19],
    ]
    assert api.client.get("/models/other/performance").json()["items"] == []
    bad = api.client.get("/models/bad id!/performance")
    assert bad.status_code == 422 and "model_id" in bad.text
    assert api.client.get("/models/m/performance", params={"limit": 0}).status_code == 422
