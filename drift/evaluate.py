"""Recent-versus-baseline evaluation of a model's streams (its verdict: drift.verdict)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scipy import special

from drift.bins import Subwindows
from drift.calibration import Calibrated, calibrate_many
from drift.histogram import Histogram
from drift.measure import Bins, Kind, Status, StreamWindows, measured_batch, measured_each
from drift.policy import DetectionPolicy, Thresholds
from drift.significance import benjamini_hochberg
from drift.vector_streams import fold, projection_of
from drift.vectors import VectorMoments

PREDICTION_STREAMS = ("prediction", "prediction.")
OUTPUT_STREAMS = (*PREDICTION_STREAMS, "confidence")


@dataclass(frozen=True, slots=True)
class StreamEvaluation:
    """One stream's comparison at one window end.

    ``rule`` says how ``status`` was decided: ``"calibrated"`` (the default: the stream's
    calibrated p-value against the model's Benjamini-Hochberg cut-off, plus a minimum effect),
    or ``"fixed"`` (the seed's fixed limit per metric). ``score`` and ``limit`` put both on one
    scale: the verdict is drift when ``score >= limit`` (calibrated: ``-log10 p`` against
    ``-log10`` of the cut-off, and ``effect >= min_effect``; fixed: the largest value / limit
    ratio against 1). ``limits`` gives each metric's limit in its own units (calibrated: the
    value at which that metric's asymptotic law reaches the cut-off; ``None`` where no such
    law is used)."""

    stream: str
    kind: Kind
    status: Status
    metrics: Mapping[str, float]
    drifted_metrics: tuple[str, ...]
    recent_count: int
    baseline_count: int
    bins: Bins | None
    rule: str = "fixed"
    p_value: float | None = None
    q_value: float | None = None
    score: float | None = None
    limit: float | None = None
    limits: Mapping[str, float | None] = field(default_factory=dict)
    test: str | None = None
    effect: float | None = None
    null_center: float | None = None
    null_spread: float | None = None
    subwindows: int = 0
    new_categories: int = 0  # recent values of categories the baseline never had
    new_share: float = 0.0
    calibration: Calibrated | None = None


def measure_model(
    inputs: Sequence[StreamWindows], policy: DetectionPolicy
) -> list[StreamEvaluation]:
    """:func:`measure_stream` of each of a model's streams, computed together: the numeric
    streams binned and measured in one pass (``drift.numeric_batch``), the calibrations of all
    streams in one table per kind (:func:`drift.calibration.calibrate_many`). The results are
    those of measuring each stream alone (:func:`measure_model_each`), bit for bit."""
    return _measure(inputs, policy, batched=True)


def measure_model_each(
    inputs: Sequence[StreamWindows], policy: DetectionPolicy
) -> list[StreamEvaluation]:
    """:func:`measure_model` one stream at a time: the reference the batched path is tested
    against (and the clearer reading of what one stream's measurement is)."""
    return _measure(inputs, policy, batched=False)


def _measure(
    inputs: Sequence[StreamWindows], policy: DetectionPolicy, batched: bool
) -> list[StreamEvaluation]:
    vectors = {inp.stream for inp in inputs if isinstance(inp.recent, VectorMoments)}
    plain = [inp for inp in inputs if inp.stream not in vectors]
    if batched and len(plain) > 1:  # one stream alone: the per-stream path has fewer steps
        measured = measured_batch(plain, policy)
    else:
        measured = [measured_each(inp, policy) for inp in plain]
    asked = [(i, req) for i, (_, req) in enumerate(measured) if req is not None]
    fields = [found for found, _ in measured]
    for (i, _), cal in zip(asked, calibrate_many([req for _, req in asked]), strict=True):
        fields[i].update(
            p_value=cal.p_value,
            test=cal.test,
            effect=cal.effect,
            null_center=cal.null_center,
            null_spread=cal.null_spread,
            subwindows=cal.window.subwindows,
            calibration=cal,
        )
    out = [StreamEvaluation(**found) for found in fields]
    return _with_vectors(inputs, out, vectors, policy) if vectors else out


def _with_vectors(
    inputs: Sequence[StreamWindows],
    measured: list[StreamEvaluation],
    vectors: set[str],
    policy: DetectionPolicy,
) -> list[StreamEvaluation]:
    """Each vector stream's projections folded into its evaluation (``drift.vector_streams``)."""
    owned: dict[str, list[StreamEvaluation]] = {name: [] for name in vectors}
    plain: dict[str, StreamEvaluation] = {}
    for ev in measured:
        owner = projection_of(ev.stream, vectors)
        if owner is None:
            plain[ev.stream] = ev
        else:
            owned[owner].append(ev)
    out = []
    for inp in inputs:
        if inp.stream in plain:
            out.append(plain[inp.stream])
        elif inp.stream in vectors:
            recent, baseline = inp.recent, inp.baseline
            assert isinstance(recent, VectorMoments) and isinstance(baseline, VectorMoments)
            subs = (
                inp.subwindows.hists if isinstance(inp.subwindows, Subwindows) else inp.subwindows
            )
            moments = [h for h in subs if isinstance(h, VectorMoments)]
            fields = fold(inp.stream, recent, baseline, moments, owned[inp.stream], policy)
            out.append(
                StreamEvaluation(
                    inp.stream,
                    "vector",
                    bins=None,
                    drifted_metrics=(),
                    recent_count=recent.count,
                    baseline_count=baseline.count,
                    rule=policy.rule_for(inp.stream),
                    **fields,
                )
            )
    return out


def measure_stream(
    stream: str,
    recent: Histogram,
    baseline: Histogram,
    policy: DetectionPolicy,
    subwindows: Sequence[Histogram] | Subwindows = (),
    fresh: Mapping[str, Histogram] | None = None,
) -> StreamEvaluation:
    """Every metric of ``recent`` against ``baseline`` and, under the calibrated rule, the
    stream's calibrated p-value (null from ``subwindows``, the baseline's sub-windows of the
    recent window's length; ``fresh``: newest parts of the recent window by label, e.g.
    ``{"15m": ...}``). The status is
    ``insufficient_data`` below the policy's minimums, else provisional until :func:`decide`."""
    inp = StreamWindows(stream, recent, baseline, subwindows, fresh or {})
    return measure_model([inp], policy)[0]


def _log10(p: float) -> float:
    return -math.log10(max(p, 1e-300))


def _calibrated_limits(cal: Calibrated, cut: float) -> dict[str, float | None]:
    """Each divergence's value at the cut-off, from its asymptotic law under the null
    (``2 n KL ~ PSI n ~ 8 n JS^2 ~ 8 n H^2 ~ G``, ``sqrt(n) KS`` ~ Kolmogorov; docs)."""
    n = max(cal.window.n_eff, 1.0)
    g = cal.g_limit(cut)
    z = cal.z_limit(cut) if cal.window.auc is not None else None
    alpha = min(1.0, cut / len(cal.components))
    ks = float(special.kolmogi(alpha)) * math.sqrt(cal.window.trend_inflation / n)
    return {
        "kl_divergence": g / (2.0 * n),
        "psi": g / n,
        "js_distance": math.sqrt(g / (8.0 * n)),
        "hellinger": math.sqrt(g / (8.0 * n)),
        "ks_statistic": None if z is None else ks,
        "cosine_similarity": None,
        "wasserstein": None,
        "chi2_pvalue": None,
    }


_FIELDS = tuple(f.name for f in dataclasses.fields(StreamEvaluation))


def _replaced(ev: StreamEvaluation, **changes: Any) -> StreamEvaluation:
    """``dataclasses.replace`` without its per-call checks (a third of ``decide``'s cost at
    20 streams); every field of StreamEvaluation is an init field."""
    fields = {name: getattr(ev, name) for name in _FIELDS}
    fields.update(changes)
    return StreamEvaluation(**fields)


def _fixed(ev: StreamEvaluation, policy: DetectionPolicy) -> StreamEvaluation:
    thresholds = policy.for_stream(ev.stream)
    limits = {name: thresholds.limit(name) for name in Thresholds.DIRECTIONS}
    ratios = []
    for name, value in ev.metrics.items():
        limit = limits.get(name)
        if limit is None or not math.isfinite(value):
            continue
        if Thresholds.DIRECTIONS[name] == "above":
            ratios.append(value / limit if limit > 0 else math.inf)
        else:  # cosine: how far below 1 against how far the limit is
            ratios.append((1.0 - value) / (1.0 - limit) if limit < 1 else math.inf)
    score = max(ratios, default=0.0)
    if ev.status == "insufficient_data":
        return _replaced(ev, score=score, limit=1.0, limits=limits)
    drifted = thresholds.drifted(
        {name: v for name, v in ev.metrics.items() if name in Thresholds.DIRECTIONS}
    )
    status: Status = "drift" if drifted else "ok"
    return _replaced(
        ev, status=status, drifted_metrics=drifted, score=score, limit=1.0, limits=limits
    )


def decide(evals: Sequence[StreamEvaluation], policy: DetectionPolicy) -> list[StreamEvaluation]:
    """The verdict of each stream of one model at one window end.

    Calibrated rule: the streams' p-values go through Benjamini-Hochberg at ``policy.fdr``
    (false-discovery control across the model's streams); a stream drifts when its p-value is
    within the cut-off and its effect (total variation distance on the pooled bins) is at
    least ``policy.min_effect``. Fixed rule: each metric against its limit."""
    out: list[StreamEvaluation] = list(evals)
    judged = [
        i
        for i, e in enumerate(out)
        if e.rule == "calibrated" and e.p_value is not None and e.status != "insufficient_data"
    ]
    for i, e in enumerate(out):
        if e.rule == "fixed":
            out[i] = _fixed(e, policy)
    if not judged:
        return out
    q, cut = benjamini_hochberg([out[i].p_value or 1.0 for i in judged], policy.fdr)
    for i, q_value in zip(judged, q.tolist(), strict=True):
        e = out[i]
        cal = e.calibration
        assert e.p_value is not None
        limits = _calibrated_limits(cal, cut) if cal is not None else {}
        drift = e.p_value <= cut and (e.effect or 0.0) >= policy.min_effect
        over = tuple(
            name
            for name, limit in limits.items()
            if limit is not None
            and name in e.metrics
            and Thresholds.DIRECTIONS[name] == "above"
            and e.metrics[name] > limit
        )
        out[i] = _replaced(
            e,
            status="drift" if drift else "ok",
            drifted_metrics=over if drift else (),
            q_value=q_value,
            score=_log10(e.p_value),
            limit=_log10(cut),
            limits=limits,
        )
    return out


def evaluate_stream(
    stream: str,
    recent: Histogram,
    baseline: Histogram,
    policy: DetectionPolicy,
    subwindows: Sequence[Histogram] | Subwindows = (),
    fresh: Mapping[str, Histogram] | None = None,
) -> StreamEvaluation:
    """One stream judged alone (a model of one stream): :func:`measure_stream`, then
    :func:`decide`. Metrics are given whenever both sides have data, but the status is
    ``insufficient_data`` (never ``drift``) below the policy's minimums."""
    ev = measure_stream(stream, recent, baseline, policy, subwindows, fresh)
    return decide([ev], policy)[0]
