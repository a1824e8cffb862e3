"""The worker's data-quality gauges (docs/architecture.md, "Data quality"):
``drift_quality_issue{model_id, stream, issue}`` is 1 while the issue holds and removed when it
clears (an alert on it resolves then); ``drift_missing_share{model_id, stream}`` follows the
recent window."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Gauge


class QualityGauges:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.issue = Gauge(
            "drift_quality_issue",
            "1 while the data-quality issue holds (missing, out_of_range, new_category, "
            "appeared, vanished); removed when it clears",
            ["model_id", "stream", "issue"],
            registry=registry,
        )
        self.missing = Gauge(
            "drift_missing_share",
            "share of missing values in the recent window",
            ["model_id", "stream"],
            registry=registry,
        )
        self._issues: dict[tuple[str, str], set[str]] = {}

    def observe(self, model_id: str, stream: str, quality: Mapping[str, Any] | None) -> None:
        key = (model_id, stream)
        now = set(quality["issues"]) if quality else set()
        for gone in self._issues.get(key, set()) - now:
            with contextlib.suppress(KeyError):
                self.issue.remove(model_id, stream, gone)
        for issue in now:
            self.issue.labels(model_id, stream, issue).set(1)
        if now:
            self._issues[key] = now
        else:
            self._issues.pop(key, None)
        if quality is not None:
            self.missing.labels(model_id, stream).set(quality["missing_share"])

    def forget(self, model_id: str) -> None:
        """Remove an evicted model's series."""
        for key in [k for k in self._issues if k[0] == model_id]:
            for issue in self._issues.pop(key):
                with contextlib.suppress(KeyError):
                    self.issue.remove(*key, issue)
        for family in self.missing.collect():
            for sample in family.samples:
                if sample.labels.get("model_id") == model_id:
                    with contextlib.suppress(KeyError):
                        self.missing.remove(model_id, sample.labels["stream"])
