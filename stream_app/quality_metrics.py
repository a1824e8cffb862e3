"""The worker's data-quality gauges (docs/architecture.md, "Prometheus metrics"), set from the
``quality`` of each drift result: ``drift_quality_detected`` (1 flagged, 0 tested and not) and
``drift_quality_share`` (the recent share behind the signal) per (model_id, stream, signal).

A signal's series exist once it was tested (or flagged, for appeared / vanished) and hold the
last evaluation's value; an evicted model's series are removed. At most ``max_models`` models
get series, like the drift gauges.
"""

from __future__ import annotations

import contextlib
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from stream_app.processor import Output

SHARES = {
    "missing": "missing_share",
    "out_of_range": "out_of_range_share",
    "new_category": "new_category_share",
}
SCHEMA = ("appeared", "vanished")


class QualityMetrics:
    def __init__(self, registry: CollectorRegistry, max_models: int = 1000) -> None:
        labels = ["model_id", "stream", "signal"]
        self.detected = Gauge(
            "drift_quality_detected",
            "data-quality verdict of the last evaluation: 1 flagged, 0 tested and not",
            labels,
            registry=registry,
        )
        self.share = Gauge(
            "drift_quality_share",
            "recent share behind the signal (missing, out of the baseline's range, new categories)",
            labels,
            registry=registry,
        )
        self._series: dict[str, set[tuple[str, str, str]]] = {}
        self._cap = max_models

    def observe(self, out: Output) -> None:
        for model in out.evicted:
            self.forget(model)
        for report in out.reports:
            if report.model_id not in self._series and len(self._series) >= self._cap:
                continue
            held = self._series.setdefault(report.model_id, set())
            for result in report.results:
                if result.quality is not None:
                    self._stream(report.model_id, result.stream, result.quality, held)

    def _stream(
        self, model: str, stream: str, q: dict[str, Any], held: set[tuple[str, str, str]]
    ) -> None:
        issues = set(q["issues"])
        for signal, field in SHARES.items():
            if signal in q["p_values"] or signal in issues:
                key = (model, stream, signal)
                self.detected.labels(*key).set(1 if signal in issues else 0)
                if q.get(field) is not None:
                    self.share.labels(*key).set(q[field])
                held.add(key)
        for signal in SCHEMA:
            key = (model, stream, signal)
            if signal in issues:
                self.detected.labels(*key).set(1)
                held.add(key)
            elif key in held:
                self.detected.labels(*key).set(0)

    def forget(self, model: str) -> None:
        for key in self._series.pop(model, set()):
            for gauge in (self.detected, self.share):
                with contextlib.suppress(KeyError):
                    gauge.remove(*key)
