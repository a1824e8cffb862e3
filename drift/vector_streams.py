"""Vector streams inside a model's evaluation: their projections are calibrated with the other
numeric streams, then folded with the moment tests (``drift.multivariate``) into one
evaluation per vector stream, which enters the model's FDR step like any stream.

Under the fixed rule a vector stream reports its metrics and is never drifted (the seed's
limits are defined for one-dimensional distributions only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from drift.multivariate import correlation_shift, cosine_distance, mean_shift
from drift.policy import DetectionPolicy
from drift.vector_null import weighted_cauchy
from drift.vectors import VectorMoments

if TYPE_CHECKING:
    from drift.evaluate import StreamEvaluation

MOMENT_WEIGHT = 0.5  # of the combination: the moment tests; the projections share the rest
VECTOR_METRICS = (
    "cosine_distance",
    "sliced_wasserstein",
    "drifted_projections",
    "mean_shift",
    "correlation_shift",
)


def projection_of(stream: str, vectors: set[str]) -> str | None:
    """The vector stream whose projection ``stream`` is (``<vector>.pNN``), else None."""
    head, _, tail = stream.rpartition(".")
    if head in vectors and len(tail) == 3 and tail[0] == "p" and tail[1:].isdigit():
        return head
    return None


def fold(
    stream: str,
    recent: VectorMoments,
    baseline: VectorMoments,
    subwindows: Sequence[VectorMoments],
    projections: Sequence[StreamEvaluation],
    policy: DetectionPolicy,
) -> dict[str, Any]:
    """The fields of the vector stream's ``StreamEvaluation`` (keyword arguments) from its
    moments and its projections' evaluations (measured, not yet decided)."""
    if recent.count == 0 or baseline.count == 0:
        return {"status": "insufficient_data", "metrics": {}}
    status = "ok"
    if recent.count < policy.min_recent or baseline.count < policy.min_baseline:
        status = "insufficient_data"
    mean = mean_shift(recent, baseline, subwindows)
    corr = correlation_shift(recent, baseline, subwindows)
    judged = [p for p in projections if p.p_value is not None]
    wasser = [p.metrics["wasserstein"] for p in projections if "wasserstein" in p.metrics]
    drifted = sum((p.p_value or 1.0) <= policy.fdr for p in judged) / len(judged) if judged else 0.0
    metrics = {
        "cosine_distance": cosine_distance(recent.mean(), baseline.mean()),
        "sliced_wasserstein": float(np.mean(wasser)) if wasser else 0.0,
        "drifted_projections": drifted,
        "mean_shift": mean.size,
    }
    if corr is not None:
        metrics["correlation_shift"] = corr.size
    out: dict[str, Any] = {"status": status, "metrics": metrics, "subwindows": mean.subwindows}
    if status != "ok" or policy.rule_for(stream) != "calibrated":
        return out
    tests = [("mean", mean.p_value, mean.effect)]
    if corr is not None:
        tests.append(("correlation", corr.p_value, corr.effect))
    weights = [MOMENT_WEIGHT / len(tests)] * len(tests)
    for p in judged:
        tests.append(
            ("projection." + p.stream.rpartition(".")[2], p.p_value or 1.0, p.effect or 0.0)
        )
        weights.append((1.0 - MOMENT_WEIGHT) / len(judged))
    if not judged:
        weights = [1.0 / len(weights)] * len(weights)
    deciding = min(tests, key=lambda t: t[1])
    out.update(
        p_value=weighted_cauchy([t[1] for t in tests], weights),
        test=deciding[0],
        effect=max(t[2] for t in tests),
        null_center=mean.null_mean,
        null_spread=mean.null_spread,
    )
    return out
