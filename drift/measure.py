"""Measuring one model's streams: bins, every statistic and the calibration requests.

Two paths give the same fields, bit for bit (``tests/unit/drift/test_drift_model_batch.py``):
:func:`measured_each` takes one stream at a time (``drift.binning``, ``compute_all``: the clearer
reading of what a stream's measurement is), :func:`measured_batch` takes a model's streams
together (``drift.numeric_batch``: the numeric streams binned in one pass, the binned statistics
of all streams in one pass), about half the cost at 20 streams. What comes out are the fields of
each stream's ``drift.evaluate.StreamEvaluation`` and its calibration request, if any.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from drift.binning import Regrouped, regroup_categorical, regroup_numeric
from drift.binning_many import quantile_cuts_many
from drift.bins import BinPlan, Subwindows, counts_on, plan_for
from drift.calibration import CalibrationRequest
from drift.categorical import OTHER, CategoricalHistogram
from drift.histogram import Histogram, NumericHistogram
from drift.numeric_batch import FloatArray, NumericInput, measure_numeric, metrics_many
from drift.policy import DetectionPolicy
from drift.statistics import Comparison, compute_all

Status = Literal["ok", "drift", "insufficient_data"]
Kind = Literal["numeric", "categorical", "vector"]


@dataclass(frozen=True, slots=True)
class Bins:
    """Regrouped probabilities (unsmoothed shares) of both sides, for plotting."""

    labels: tuple[str, ...]
    recent: tuple[float, ...]
    baseline: tuple[float, ...]


def _shares(counts: Sequence[float]) -> tuple[float, ...]:
    total = sum(counts)
    return tuple(float(c) / total if total else 0.0 for c in counts)


def _regroup(
    recent: Histogram, baseline: Histogram, n_bins: int, plan: BinPlan | None = None
) -> tuple[Kind, Regrouped]:
    if isinstance(recent, NumericHistogram) and isinstance(baseline, NumericHistogram):
        index = plan.cut_index if plan is not None else None
        return "numeric", regroup_numeric(recent, baseline, n_bins, index)
    if isinstance(recent, CategoricalHistogram) and isinstance(baseline, CategoricalHistogram):
        return "categorical", regroup_categorical(recent, baseline)
    raise TypeError(
        f"recent ({type(recent).__name__}) and baseline ({type(baseline).__name__}) differ in kind"
    )


def _new_categories(recent: Histogram, baseline: Histogram) -> tuple[int, float]:
    if not isinstance(recent, CategoricalHistogram) or not isinstance(
        baseline, CategoricalHistogram
    ):
        return 0, 0.0
    known = baseline.counts()
    new = sum(n for name, n in recent.counts().items() if name not in known and name != OTHER)
    total = recent.count + recent.missing
    return new, new / total if total else 0.0


def _request(
    inp: StreamWindows, policy: DetectionPolicy, plan: BinPlan, grouped: Regrouped
) -> CalibrationRequest:
    if plan.cut_index is not None:  # the metrics' quantile bins are the plan's: counted already
        fresh = counts_on(plan, [*inp.fresh.values()])
        rows = np.vstack([grouped.recent, grouped.baseline, *fresh])
    else:
        rows = counts_on(plan, [inp.recent, inp.baseline, *inp.fresh.values()])
    return _request_of(inp, policy, plan, rows)


def _request_of(
    inp: StreamWindows, policy: DetectionPolicy, plan: BinPlan, rows: FloatArray
) -> CalibrationRequest:
    """The calibration request of one stream from its rows on ``plan``: recent, baseline, then
    the fresh parts in ``inp.fresh``'s order."""
    subwindows = inp.subwindows
    subs = subwindows if isinstance(subwindows, Subwindows) else Subwindows(subwindows)
    parts = {label: rows[2 + i] for i, label in enumerate(inp.fresh)}
    matrix, smallest = subs.nonempty(plan)
    return CalibrationRequest(
        rows[0],
        rows[1],
        matrix,
        plan.kind == "numeric",
        parts,
        policy.min_expected,
        nulls=subs.nulls,
        smallest_sub=smallest,
    )


@dataclass(frozen=True, slots=True)
class StreamWindows:
    """What one stream is judged on: the recent window, the baseline, the baseline's
    sub-windows of the recent window's length, and the recent window's newest parts."""

    stream: str
    recent: Histogram
    baseline: Histogram
    subwindows: Sequence[Histogram] | Subwindows = ()
    fresh: Mapping[str, Histogram] = field(default_factory=dict)


Fields = dict[str, Any]  # a StreamEvaluation's fields by name, while it is being measured


@dataclass(frozen=True, slots=True)
class _Screened:
    """What one stream's measurement is decided on before any bins are counted."""

    kind: Kind
    status: Status
    rule: str
    n_recent: int
    n_baseline: int
    plan: BinPlan | None
    calibrated: bool = False


def _screen(inp: StreamWindows, policy: DetectionPolicy, plan: bool = True) -> _Screened | Fields:
    """The stream's counts, status and (calibrated, ``plan``) bin plan; its evaluation's fields
    already when a side is empty."""
    recent, baseline = inp.recent, inp.baseline
    kind: Kind = "numeric" if isinstance(recent, NumericHistogram) else "categorical"
    n_recent, n_baseline = recent.count, baseline.count
    if kind == "categorical":  # missing values are a category of their own here
        n_recent, n_baseline = n_recent + recent.missing, n_baseline + baseline.missing
    rule = policy.rule_for(inp.stream)
    if n_recent == 0 or n_baseline == 0:
        return {
            "stream": inp.stream,
            "kind": kind,
            "status": "insufficient_data",
            "metrics": {},
            "drifted_metrics": (),
            "recent_count": n_recent,
            "baseline_count": n_baseline,
            "bins": None,
            "rule": rule,
        }
    status: Status = "ok"
    if n_recent < policy.min_recent or n_baseline < policy.min_baseline:
        status = "insufficient_data"
    calibrated = status == "ok" and rule == "calibrated"
    planned = None
    if calibrated and plan:
        planned = plan_for(baseline, policy.n_bins, policy.per_value_max)
    return _Screened(kind, status, rule, n_recent, n_baseline, planned, calibrated)


def _evaluation(
    inp: StreamWindows, s: _Screened, grouped: Regrouped, metrics: dict[str, float]
) -> Fields:
    """The fields of the stream's evaluation before calibration (one dataclass built at the
    end, not one per step: a frozen dataclass of 24 fields costs ~5 us a copy)."""
    bins = Bins(
        grouped.labels, _shares(grouped.recent.tolist()), _shares(grouped.baseline.tolist())
    )
    new, new_share = _new_categories(inp.recent, inp.baseline)
    return {
        "stream": inp.stream,
        "kind": s.kind,
        "status": s.status,
        "metrics": metrics,
        "drifted_metrics": (),
        "recent_count": s.n_recent,
        "baseline_count": s.n_baseline,
        "bins": bins,
        "rule": s.rule,
        "new_categories": new,
        "new_share": new_share,
    }


def measured_each(
    inp: StreamWindows, policy: DetectionPolicy
) -> tuple[Fields, CalibrationRequest | None]:
    s = _screen(inp, policy)
    if isinstance(s, dict):
        return s, None
    _, grouped = _regroup(inp.recent, inp.baseline, policy.n_bins, s.plan)
    comparison = Comparison.from_counts(
        grouped.recent, grouped.baseline, grouped.support, policy.smoothing
    )
    ev = _evaluation(inp, s, grouped, compute_all(comparison))
    if s.plan is None:
        return ev, None
    return ev, _request(inp, policy, s.plan, grouped)


def measured_batch(
    inputs: Sequence[StreamWindows], policy: DetectionPolicy
) -> list[tuple[Fields, CalibrationRequest | None]]:
    """:func:`measured_each` of each stream: the numeric ones (both sides non-empty) binned
    together, then the binned statistics of every stream in one pass."""
    out: list[tuple[Fields, CalibrationRequest | None]] = []
    pending: list[tuple[int, StreamWindows, _Screened, Regrouped]] = []
    numeric: list[tuple[int, StreamWindows, _Screened, NumericInput]] = []
    rows: dict[int, FloatArray] = {}
    for inp in inputs:
        recent, baseline = inp.recent, inp.baseline
        both = isinstance(recent, NumericHistogram) and isinstance(baseline, NumericHistogram)
        s = _screen(inp, policy, plan=not both)
        if isinstance(s, dict):
            out.append((s, None))
            continue
        out.append(({}, None))
        if isinstance(recent, NumericHistogram) and isinstance(baseline, NumericHistogram):
            fresh = [h for h in inp.fresh.values() if isinstance(h, NumericHistogram)]
            if s.calibrated and len(fresh) != len(inp.fresh):
                raise TypeError("a numeric bin plan needs numeric histograms")
            numeric.append((len(out) - 1, inp, s, NumericInput(recent, baseline, None, fresh)))
            continue
        _, grouped = _regroup(recent, baseline, policy.n_bins, s.plan)
        pending.append((len(out) - 1, inp, s, grouped))
        if s.plan is not None:
            rows[len(out) - 1] = counts_on(s.plan, [recent, baseline, *inp.fresh.values()])
    numeric = _planned(numeric, policy)
    found = measure_numeric([n for *_, n in numeric], policy.n_bins)
    cdf: list[tuple[float, float] | None] = [None] * len(pending)
    for (i, inp, s, _), m in zip(numeric, found, strict=True):
        pending.append((i, inp, s, m.grouped))
        cdf.append(m.cdf)
        if m.rows is not None:
            rows[i] = m.rows
    metrics = metrics_many([g for *_, g in pending], cdf, policy.smoothing)
    for (i, inp, s, grouped), values in zip(pending, metrics, strict=True):
        request = None if s.plan is None else _request_of(inp, policy, s.plan, rows[i])
        out[i] = (_evaluation(inp, s, grouped, values), request)
    return out


def _planned(
    numeric: list[tuple[int, StreamWindows, _Screened, NumericInput]], policy: DetectionPolicy
) -> list[tuple[int, StreamWindows, _Screened, NumericInput]]:
    """The numeric streams with their baselines' quantile cuts, computed together, and the
    calibrated ones with their bin plans (``plan_for`` on those cuts)."""
    baselines = [item.baseline for *_, item in numeric]
    cuts = quantile_cuts_many([b.raw_buckets()[1] for b in baselines], policy.n_bins)
    out = []
    for (i, inp, s, item), index in zip(numeric, cuts, strict=True):
        plan = None
        if s.calibrated:
            plan = plan_for(item.baseline, policy.n_bins, policy.per_value_max, index)
        planned = NumericInput(item.recent, item.baseline, plan, item.fresh, index)
        screened = _Screened(s.kind, s.status, s.rule, s.n_recent, s.n_baseline, plan, True)
        out.append((i, inp, screened if plan is not None else s, planned))
    return out
