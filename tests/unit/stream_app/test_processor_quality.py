"""Data-quality signals through the processor: a feature's missing rate raised to 20 % and a
new category are flagged on exactly those streams, in the results and in the gauges."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from prometheus_client import CollectorRegistry

from stream_app.processor import Output, RawRecord
from stream_app.quality_metrics import QualityMetrics
from tests.unit.stream_app.test_processor import DictStore, make

pytestmark = pytest.mark.unit
T0 = 1_796_083_200.0


def feed(rng, start: float, seconds: int, missing: float, new: float, offset0: int):
    times = np.repeat(np.arange(start, start + seconds), 5) + 0.5
    n = len(times)
    x = rng.normal(0, 1, n)
    x_missing = rng.random(n) < missing
    country = rng.choice(["US", "DE", "FR"], n, p=[0.5, 0.3, 0.2])
    country = np.where(rng.random(n) < new, "ZZ", country)
    events = [
        {
            "model_id": "m1",
            "timestamp": float(t),
            "input_data": {
                "x": None if gone else float(xi),
                "y": float(yi),
                "country": str(c),
                "device": str(d),
            },
            "prediction": "a",
            "confidence": 0.9,
        }
        for t, xi, gone, yi, c, d in zip(
            times, x, x_missing, rng.normal(5, 2, n), country,
            rng.choice(["mobile", "desktop"], n), strict=True,
        )
    ]  # fmt: skip
    return [
        RawRecord(0, offset0 + i // 50, b"m1", orjson.dumps(events[i : i + 50]), 0.0)
        for i in range(0, n, 50)
    ]


def test_missing_rate_and_new_category_are_flagged_on_exactly_those_streams():
    rng = np.random.default_rng(3)
    store = DictStore()
    proc = make(store)
    registry = CollectorRegistry()
    gauges = QualityMetrics(registry)
    calm = feed(rng, T0, 4200, missing=0.0, new=0.0, offset0=0)
    changed = feed(rng, T0 + 4200, 600, missing=0.2, new=0.1, offset0=len(calm))
    reports = []
    recs = calm + changed
    for i in range(0, len(recs), 50):
        out: Output = proc.process(recs[i : i + 50], now=0.0)
        store.apply(out)
        gauges.observe(out)
        reports.extend(out.reports)
    calm_end = T0 + 4200
    before = [r for r in reports if r.window_end <= calm_end]
    assert before and all(
        not res.quality["issues"] for r in before for res in r.results if res.quality
    )
    last = reports[-1]
    issues = {res.stream: res.quality["issues"] for res in last.results}
    assert issues == {
        "input.x": ["missing"],
        "input.country": ["new_category"],
        "input.y": [],
        "input.device": [],
        "prediction": [],
        "confidence": [],
    }, issues
    x = next(res for res in last.results if res.stream == "input.x").quality
    assert x["missing_share"] == pytest.approx(0.2, abs=0.03) and x["baseline_missing_share"] == 0
    country = next(res for res in last.results if res.stream == "input.country").quality
    assert country["new_category_share"] == pytest.approx(0.1, abs=0.03)

    def value(name: str, stream: str, signal: str) -> float | None:
        labels = {"model_id": "m1", "stream": stream, "signal": signal}
        return registry.get_sample_value(name, labels)

    assert value("drift_quality_detected", "input.x", "missing") == 1
    assert value("drift_quality_share", "input.x", "missing") == pytest.approx(0.2, abs=0.03)
    assert value("drift_quality_detected", "input.country", "new_category") == 1
    assert value("drift_quality_detected", "input.y", "out_of_range") == 0
    assert value("drift_quality_detected", "input.device", "new_category") == 0
