"""Evaluate one model at one window end: per-stream statistics, the model verdict, alert steps.

The result is a ``ModelReport``: the messages for ``drift-results`` (one per stream) and
``drift-alerts`` (hysteresis transitions), plus the verdict for the worker's gauges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drift import (
    AlertState,
    DetectionPolicy,
    Hysteresis,
    ModelVerdict,
    StreamEvaluation,
    WindowSums,
    evaluate_stream,
    model_verdict,
    step,
)
from stream_app.state import ModelMeta, PinnedBaseline
from stream_app.windows import WindowSpec

ALERT_METRIC = "drift"  # one alert per (model, stream) on the policy verdict
_CLOSED = AlertState()


@dataclass(frozen=True)
class ModelReport:
    model_id: str
    window_end: int
    evaluations: tuple[StreamEvaluation, ...]
    verdict: ModelVerdict
    results: tuple[dict[str, Any], ...]
    alerts: tuple[dict[str, Any], ...]


def _result(
    meta: ModelMeta, ev: StreamEvaluation, spec: WindowSpec, end: int, pinned: PinnedBaseline | None
) -> dict[str, Any]:
    base_start, base_end = (
        (pinned.window_start, pinned.window_end)
        if pinned
        else (end - spec.recent - spec.baseline, end - spec.recent)
    )
    return {
        "model_id": meta.model_id,
        "stream": ev.stream,
        "stream_kind": ev.kind,
        "window_start": end - spec.recent,
        "window_end": end,
        "baseline_start": base_start,
        "baseline_end": base_end,
        "baseline_mode": "pinned" if pinned else "rolling",
        "status": ev.status,
        "metrics": {k: float(v) for k, v in ev.metrics.items()},
        "drifted_metrics": list(ev.drifted_metrics),
        "recent_count": ev.recent_count,
        "baseline_count": ev.baseline_count,
        "bins": None
        if ev.bins is None
        else {
            "labels": list(ev.bins.labels),
            "recent": [float(v) for v in ev.bins.recent],
            "baseline": [float(v) for v in ev.bins.baseline],
        },
    }


def _worst(ev: StreamEvaluation, policy: DetectionPolicy) -> tuple[str, float, float | None]:
    metric = ev.drifted_metrics[0] if ev.drifted_metrics else "kl_divergence"
    return (
        metric,
        float(ev.metrics.get(metric, float("nan"))),
        policy.for_stream(ev.stream).limit(metric),
    )


def _alert(
    meta: ModelMeta, ev: StreamEvaluation, transition: str, end: int, policy: DetectionPolicy
) -> dict[str, Any]:
    metric, value, limit = _worst(ev, policy)
    return {
        "model_id": meta.model_id,
        "stream": ev.stream,
        "metric": ALERT_METRIC,
        "transition": transition,
        "at": end,
        "severity": "critical" if ev.stream.startswith("prediction") else "warning",
        "value": value,
        "threshold": limit,
        "trigger_metric": metric,
        "drifted_metrics": list(ev.drifted_metrics),
        "message": f"{meta.model_id}/{ev.stream}: {transition} ({metric}={value:.4g})",
    }


def evaluate_model(
    meta: ModelMeta,
    sums: WindowSums,
    pinned: PinnedBaseline | None,
    policy: DetectionPolicy,
    rule: Hysteresis,
    spec: WindowSpec,
) -> ModelReport | None:
    """Evaluate every stream at ``meta.next_end``; None when the model holds no data."""
    end = meta.next_end
    assert end is not None
    evals = []
    base = pinned.hists if (pinned and meta.pinned) else None
    for stream in sums.streams():
        recent = sums.recent(stream)
        baseline = (
            base.get(stream, recent.empty_like()) if base is not None else sums.baseline(stream)
        )
        if type(baseline) is not type(recent):
            continue
        evals.append(evaluate_stream(stream, recent, baseline, policy))
    if not evals:
        return None
    alerts = []
    for ev in evals:
        state, transition = step(meta.alerts.get(ev.stream, _CLOSED), ev.status, rule)
        meta.alerts[ev.stream] = state
        if transition:
            alerts.append(_alert(meta, ev, transition, end, policy))
    used_pinned = pinned if base is not None else None
    results = tuple(_result(meta, ev, spec, end, used_pinned) for ev in evals)
    return ModelReport(
        meta.model_id, end, tuple(evals), model_verdict(evals), results, tuple(alerts)
    )
