"""Kafka topic names and their defaults: the one place every producer and consumer reads them.

Each name can be prefixed (``DRIFT_TOPIC_PREFIX``) so several deployments or tests share a broker.
"""

from __future__ import annotations

from dataclasses import dataclass

INFERENCE_EVENTS = "inference-events"
INFERENCE_EVENTS_DLQ = "inference-events-dlq"
DRIFT_RESULTS = "drift-results"
DRIFT_ALERTS = "drift-alerts"
# Commands for the worker that owns a model's state (key = model id), e.g.
# {"action": "pin_baseline" | "unpin_baseline" | "set_thresholds", "model_id": ..., ...}
DRIFT_CONTROL = "drift-control"
# Pinned baseline snapshots emitted by the worker, persisted to PostgreSQL `baselines`.
DRIFT_BASELINES = "drift-baselines"
# Ground-truth labels (key = model id), joined to logged inferences in PostgreSQL; the refused
# ones (bad, unknown event, too late) go to the labels DLQ with a reason header.
INFERENCE_LABELS = "inference-labels"
INFERENCE_LABELS_DLQ = "inference-labels-dlq"


@dataclass(frozen=True)
class Topics:
    """The topic names of one deployment."""

    prefix: str = ""

    def _name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    @property
    def events(self) -> str:
        return self._name(INFERENCE_EVENTS)

    @property
    def dlq(self) -> str:
        return self._name(INFERENCE_EVENTS_DLQ)

    @property
    def results(self) -> str:
        return self._name(DRIFT_RESULTS)

    @property
    def alerts(self) -> str:
        return self._name(DRIFT_ALERTS)

    @property
    def control(self) -> str:
        return self._name(DRIFT_CONTROL)

    @property
    def baselines(self) -> str:
        return self._name(DRIFT_BASELINES)

    @property
    def labels(self) -> str:
        return self._name(INFERENCE_LABELS)

    @property
    def labels_dlq(self) -> str:
        return self._name(INFERENCE_LABELS_DLQ)

    def all(self) -> list[str]:
        return [
            self.events,
            self.dlq,
            self.results,
            self.alerts,
            self.control,
            self.baselines,
            self.labels,
            self.labels_dlq,
        ]
