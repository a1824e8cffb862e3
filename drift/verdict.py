"""The model-level verdict from its streams' evaluations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drift.evaluate import StreamEvaluation
from drift.measure import Status


@dataclass(frozen=True, slots=True)
class ModelVerdict:
    status: Status
    prediction_drift: bool
    drifted_input_share: float
    drifted_streams: tuple[str, ...]


def is_prediction(stream: str) -> bool:
    return stream == "prediction" or stream.startswith("prediction.")


def model_verdict(evals: Sequence[StreamEvaluation], drift_share: float = 0.5) -> ModelVerdict:
    """Drift when a prediction stream drifts or at least ``drift_share`` of the input streams
    with enough data drift (Evidently's dataset-drift rule); insufficient when none has data."""
    judged = [e for e in evals if e.status != "insufficient_data"]
    drifted = tuple(e.stream for e in judged if e.status == "drift")
    inputs = [e for e in judged if e.stream.startswith("input.")]
    share = sum(e.status == "drift" for e in inputs) / len(inputs) if inputs else 0.0
    prediction = any(is_prediction(name) for name in drifted)
    if not judged:
        return ModelVerdict("insufficient_data", False, 0.0, ())
    status: Status = "drift" if prediction or (inputs and share >= drift_share) else "ok"
    return ModelVerdict(status, prediction, share, drifted)
