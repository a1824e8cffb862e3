"""Recent-versus-baseline evaluation of one stream, and the model-level verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from drift.binning import Regrouped, regroup_categorical, regroup_numeric
from drift.categorical import CategoricalHistogram
from drift.histogram import Histogram, NumericHistogram
from drift.policy import DetectionPolicy
from drift.statistics import Comparison, compute_all

Status = Literal["ok", "drift", "insufficient_data"]
Kind = Literal["numeric", "categorical"]
PREDICTION_STREAMS = ("prediction", "prediction.")
OUTPUT_STREAMS = (*PREDICTION_STREAMS, "confidence")


@dataclass(frozen=True, slots=True)
class Bins:
    """Regrouped probabilities (unsmoothed shares) of both sides, for plotting."""

    labels: tuple[str, ...]
    recent: tuple[float, ...]
    baseline: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class StreamEvaluation:
    stream: str
    kind: Kind
    status: Status
    metrics: Mapping[str, float]
    drifted_metrics: tuple[str, ...]
    recent_count: int
    baseline_count: int
    bins: Bins | None


def _shares(counts: Sequence[float]) -> tuple[float, ...]:
    total = sum(counts)
    return tuple(float(c) / total if total else 0.0 for c in counts)


def _regroup(recent: Histogram, baseline: Histogram, n_bins: int) -> tuple[Kind, Regrouped]:
    if isinstance(recent, NumericHistogram) and isinstance(baseline, NumericHistogram):
        return "numeric", regroup_numeric(recent, baseline, n_bins)
    if isinstance(recent, CategoricalHistogram) and isinstance(baseline, CategoricalHistogram):
        return "categorical", regroup_categorical(recent, baseline)
    raise TypeError(
        f"recent ({type(recent).__name__}) and baseline ({type(baseline).__name__}) differ in kind"
    )


def evaluate_stream(
    stream: str, recent: Histogram, baseline: Histogram, policy: DetectionPolicy
) -> StreamEvaluation:
    """Compare ``recent`` with ``baseline``; metrics are given whenever both sides have data,
    but the status is ``insufficient_data`` (never ``drift``) below the policy's minimums."""
    kind: Kind = "numeric" if isinstance(recent, NumericHistogram) else "categorical"
    n_recent, n_baseline = recent.count, baseline.count
    if kind == "categorical":  # missing values are a category of their own here
        n_recent, n_baseline = n_recent + recent.missing, n_baseline + baseline.missing
    if n_recent == 0 or n_baseline == 0:
        return StreamEvaluation(
            stream, kind, "insufficient_data", {}, (), n_recent, n_baseline, None
        )
    kind, grouped = _regroup(recent, baseline, policy.n_bins)
    comparison = Comparison.from_counts(
        grouped.recent, grouped.baseline, grouped.support, policy.smoothing
    )
    metrics = compute_all(comparison)
    bins = Bins(
        grouped.labels, _shares(grouped.recent.tolist()), _shares(grouped.baseline.tolist())
    )
    if n_recent < policy.min_recent or n_baseline < policy.min_baseline:
        return StreamEvaluation(
            stream, kind, "insufficient_data", metrics, (), n_recent, n_baseline, bins
        )
    drifted = policy.for_stream(stream).drifted(metrics)
    status: Status = "drift" if drifted else "ok"
    return StreamEvaluation(stream, kind, status, metrics, drifted, n_recent, n_baseline, bins)


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
