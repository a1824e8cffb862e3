"""Evaluate one model at one window end: per-stream statistics, the model verdict, alert steps.

The result is a ``ModelReport``: the messages for ``drift-results`` (one ``DriftResult`` per
stream) and ``drift-alerts`` (``AlertTransition``s of the hysteresis), typed in
``drift.messages``, plus the verdict for the worker's gauges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from drift import (
    AlertState,
    DetectionPolicy,
    Histogram,
    Hysteresis,
    ModelVerdict,
    StreamEvaluation,
    model_verdict,
    step,
)
from drift.bins import Subwindows
from drift.categorical import CategoricalHistogram
from drift.evaluate import StreamWindows, decide, measure_model
from drift.histogram import NumericHistogram
from drift.messages import AlertTransition, DriftResult
from drift.quality import (
    QualityInput,
    QualityPolicy,
    StreamQuality,
    decide_quality,
    measure_quality,
)
from drift.vector_streams import projection_of
from drift.vectors import VectorMoments
from stream_app.state import ModelMeta

ALERT_METRIC = "drift"  # one alert per (model, stream) on the policy verdict
_CLOSED = AlertState()


@dataclass(frozen=True)
class ModelReport:
    model_id: str
    window_end: int
    evaluations: tuple[StreamEvaluation, ...]
    verdict: ModelVerdict
    results: tuple[DriftResult, ...]
    alerts: tuple[AlertTransition, ...]


@dataclass(frozen=True)
class StreamInput:
    """What one stream is judged on at one window end: its recent sum, the baseline it is
    compared with (``mode``: rolling, seasonal, pinned or frozen, spanning ``baseline_span``),
    the baseline's sub-windows (the null's calibration) and the newest part of recent."""

    stream: str
    recent: Histogram
    baseline: Histogram
    subwindows: Sequence[Histogram] | Subwindows
    fresh: Mapping[str, Histogram]  # newest parts of recent by label ("15m", "30m")
    mode: str
    baseline_span: tuple[int, int]


def _opt(value: float | None) -> float | None:
    return None if value is None else float(value)


def _quality(q: StreamQuality | None) -> dict[str, Any] | None:
    if q is None:
        return None
    return {
        "issues": list(q.issues),
        "missing_share": float(q.missing_share),
        "baseline_missing_share": float(q.baseline_missing_share),
        "out_of_range_share": _opt(q.out_of_range_share),
        "new_category_share": _opt(q.new_category_share),
        "schema": q.schema,
        "p_values": {k: float(v) for k, v in q.p_values.items()},
    }


def judge_quality(
    inputs: Sequence[StreamInput], policy: QualityPolicy | None
) -> dict[str, StreamQuality]:
    """The data-quality signals of a model's histogram streams (vector streams have none)."""
    if policy is None:
        return {}
    kinds = (NumericHistogram, CategoricalHistogram)
    vectors = {i.stream for i in inputs if isinstance(i.recent, VectorMoments)}
    asked = [
        QualityInput(i.stream, i.recent, i.baseline, i.subwindows)
        for i in inputs
        if isinstance(i.recent, kinds)
        and isinstance(i.baseline, kinds)
        and projection_of(i.stream, vectors) is None  # a vector's projections: not inputs
    ]
    return {q.stream: q for q in decide_quality(measure_quality(asked, policy), policy)}


def _result(
    meta: ModelMeta,
    ev: StreamEvaluation,
    inp: StreamInput,
    window: tuple[int, int],
    quality: StreamQuality | None = None,
) -> DriftResult:
    return DriftResult(
        model_id=meta.model_id,
        stream=ev.stream,
        stream_kind=ev.kind,
        window_start=window[0],
        window_end=window[1],
        baseline_start=inp.baseline_span[0],
        baseline_end=inp.baseline_span[1],
        baseline_mode=inp.mode,
        status=ev.status,
        metrics={k: float(v) for k, v in ev.metrics.items()},
        drifted_metrics=list(ev.drifted_metrics),
        recent_count=ev.recent_count,
        baseline_count=ev.baseline_count,
        rule=ev.rule,
        p_value=_opt(ev.p_value),
        q_value=_opt(ev.q_value),
        score=_opt(ev.score),
        limit=_opt(ev.limit),
        limits={k: _opt(v) for k, v in ev.limits.items()},
        test=ev.test,
        effect=_opt(ev.effect),
        null_center=_opt(ev.null_center),
        null_spread=_opt(ev.null_spread),
        subwindows=ev.subwindows,
        new_categories={"count": ev.new_categories, "share": ev.new_share},
        bins=None
        if ev.bins is None
        else {
            "labels": list(ev.bins.labels),
            "recent": [float(v) for v in ev.bins.recent],
            "baseline": [float(v) for v in ev.bins.baseline],
        },
        quality=_quality(quality),
    )


def _worst(ev: StreamEvaluation) -> tuple[str, float, float | None]:
    if ev.rule == "calibrated" and ev.p_value is not None:
        # the calibrated verdict's own scale: -log10 p against -log10 of the cut-off
        return f"calibrated:{ev.test}", float(ev.score or 0.0), _opt(ev.limit)
    metric = ev.drifted_metrics[0] if ev.drifted_metrics else "kl_divergence"
    return metric, float(ev.metrics.get(metric, float("nan"))), _opt(ev.limits.get(metric))


def _alert(meta: ModelMeta, ev: StreamEvaluation, transition: str, end: int) -> AlertTransition:
    metric, value, limit = _worst(ev)
    return AlertTransition(
        model_id=meta.model_id,
        stream=ev.stream,
        metric=ALERT_METRIC,
        transition=transition,
        at=end,
        severity="critical" if ev.stream.startswith("prediction") else "warning",
        value=value,
        threshold=limit,
        trigger_metric=metric,
        drifted_metrics=list(ev.drifted_metrics),
        message=f"{meta.model_id}/{ev.stream}: {transition} ({metric}={value:.4g})",
    )


def evaluate_model(
    meta: ModelMeta,
    inputs: Sequence[StreamInput],
    policy: DetectionPolicy,
    rule: Hysteresis,
    window: tuple[int, int],
    quality: QualityPolicy | None = None,
) -> ModelReport | None:
    """Judge every stream at ``window`` (recent start, end), and its data quality under
    ``quality`` (None: not judged); None when there is nothing."""
    measured = measure_model(
        [StreamWindows(i.stream, i.recent, i.baseline, i.subwindows, i.fresh) for i in inputs],
        policy,
    )
    if not measured:
        return None
    evals = decide(measured, policy)
    alerts = []
    for ev in evals:
        state, transition = step(meta.alerts.get(ev.stream, _CLOSED), ev.status, rule)
        meta.alerts[ev.stream] = state
        if transition:
            alerts.append(_alert(meta, ev, transition, window[1]))
    signals = judge_quality(inputs, quality)
    # a vector stream's projections are inputs folded into its one evaluation
    by_stream = {i.stream: i for i in inputs}
    results = tuple(
        _result(meta, ev, by_stream[ev.stream], window, signals.get(ev.stream)) for ev in evals
    )
    return ModelReport(
        meta.model_id, window[1], tuple(evals), model_verdict(evals), results, tuple(alerts)
    )
