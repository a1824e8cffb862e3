"""Data-quality signals per stream, from the histograms already kept (issue 15, item 5).

For each stream at each window end, against its baseline:

* ``missing``: the share of missing values (null, NaN, a categorical ``None``) moved. A z test
  of the difference of the two shares, its variance the binomial one under the pooled share
  plus the between-sub-window variance of the baseline's share (estimated robustly, from the
  median absolute deviation of the sub-windows' shares, so one sub-window already holding the
  change does not hide it); a share rising from exactly 0 is seen. Effect = the absolute
  change of the share, at least ``min_missing_change``;
* ``out_of_range`` (numeric): the share of recent values outside the baseline's range (below
  its lowest or above its highest bucket). Without change a few values fall outside by chance
  (about ``2 / n_baseline`` of them); the null rate is learnt from the sub-windows (each against
  the rest of the baseline), a binomial tail gives the p-value, effect = the share, at least
  ``min_out_of_range``;
* ``new_category`` (categorical): the share of recent values in categories the baseline never
  had, the same way (null rate from the sub-windows), at least ``min_new_share``;
* ``appeared`` / ``vanished`` (schema change): a stream with data in the recent window and none
  in the baseline, or the reverse while the model still sends — no test needed.

The p-values of all tests of a model go through Benjamini-Hochberg at ``fdr`` together, so a
model with many streams is not flagged by chance more often than one with few.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from drift.bins import Subwindows
from drift.categorical import OTHER, CategoricalHistogram
from drift.histogram import Histogram, NumericHistogram
from drift.significance import benjamini_hochberg

ISSUES = ("missing", "out_of_range", "new_category", "appeared", "vanished")


@dataclass(frozen=True, slots=True)
class QualityPolicy:
    """Limits of the data-quality signals (``DRIFT_DQ_*`` settings; docs/architecture.md)."""

    fdr: float = 0.001
    min_missing_change: float = 0.05
    min_out_of_range: float = 0.02
    min_new_share: float = 0.02
    min_recent: int = 100
    min_baseline: int = 500


@dataclass(frozen=True, slots=True)
class StreamQuality:
    """The data-quality signals of one stream at one window end."""

    stream: str
    recent_values: int  # values and missing ones
    missing_share: float
    baseline_missing_share: float
    out_of_range_share: float | None = None  # numeric streams
    new_category_share: float | None = None  # categorical streams
    schema: str | None = None  # "appeared" | "vanished"
    p_values: Mapping[str, float] = field(default_factory=dict)
    issues: tuple[str, ...] = ()


def _total(h: Histogram) -> int:
    return h.count + h.missing


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _tail(k: int, n: int, rate: float) -> float:
    """P(X >= k) for X ~ Binomial(n, rate)."""
    if k <= 0:
        return 1.0
    return float(special.bdtrc(k - 1, n, min(max(rate, 1e-12), 1.0)))


def _outside(recent: NumericHistogram, baseline: NumericHistogram) -> int:
    (rk, rc), (bk, _) = recent.buckets(), baseline.buckets()
    if rk.size == 0 or bk.size == 0:
        return 0
    return int(rc[(rk < bk[0]) | (rk > bk[-1])].sum())


def _new(recent: CategoricalHistogram, baseline: CategoricalHistogram) -> int:
    known = baseline.counts()
    return sum(n for name, n in recent.counts().items() if name not in known and name != OTHER)


def _null_rate(subs: Sequence[Histogram], baseline: Histogram) -> float:
    """Share of each sub-window's values outside the rest (out of range / new), pooled; at
    least the chance of one value falling outside ``n`` others (``2 / (n + 1)``)."""
    hits = values = 0
    for s in subs:
        if s.count == 0:
            continue
        if isinstance(s, NumericHistogram) and isinstance(baseline, NumericHistogram):
            rest = baseline - s
            if rest.count:
                hits, values = hits + _outside(s, rest), values + s.count
        elif isinstance(s, CategoricalHistogram) and isinstance(baseline, CategoricalHistogram):
            other = baseline - s
            if other.count:
                hits, values = hits + _new(s, other), values + s.count
    floor = 2.0 / (baseline.count + 1.0)
    return max(floor, hits / values) if values else floor


@dataclass(frozen=True, slots=True)
class QualityInput:
    """One stream's windows: recent, baseline, and the baseline's sub-windows (a
    ``Subwindows`` keeps the null rate with them: it is estimated once per set)."""

    stream: str
    recent: Histogram
    baseline: Histogram
    subwindows: Sequence[Histogram] | Subwindows = ()


def _hists(subs: Sequence[Histogram] | Subwindows) -> list[Histogram]:
    return subs.hists if isinstance(subs, Subwindows) else list(subs)


def _rate(inp: QualityInput) -> float:
    subs = inp.subwindows
    if isinstance(subs, Subwindows):
        cached = subs.quality.get("rate")
        if cached is None:
            cached = subs.quality["rate"] = _null_rate(subs.hists, inp.baseline)
        return cached
    return _null_rate(subs, inp.baseline)


def _missing_p(inp: QualityInput) -> float:
    """Two-sided p-value of the change of the missing share (module docstring)."""
    recent, baseline = inp.recent, inp.baseline
    n_r, n_b = _total(recent), _total(baseline)
    p_r, p_b = recent.missing / n_r, baseline.missing / n_b
    pooled = (recent.missing + baseline.missing) / (n_r + n_b)
    var = pooled * (1.0 - pooled) * (1.0 / n_r + 1.0 / n_b)
    subs = [(h.missing, _total(h)) for h in _hists(inp.subwindows) if _total(h)]
    if len(subs) >= 3:
        shares = np.array([m / t for m, t in subs])
        sizes = np.array([t for _, t in subs], float)
        spread = 1.4826 * float(np.median(np.abs(shares - np.median(shares))))
        sampling = float(np.median(p_b * (1.0 - p_b) / sizes))
        var += max(spread**2 - sampling, 0.0)
    if var <= 0.0:  # nothing missing anywhere
        return 1.0
    return math.erfc(abs(p_r - p_b) / math.sqrt(2.0 * var))


def _one(
    inp: QualityInput, policy: QualityPolicy, active: bool, established: bool
) -> StreamQuality:
    recent, baseline, stream = inp.recent, inp.baseline, inp.stream
    n_r, n_b = _total(recent), _total(baseline)
    missing, base_missing = _share(recent.missing, n_r), _share(baseline.missing, n_b)
    if n_b == 0 and n_r >= policy.min_recent and established:
        return StreamQuality(stream, n_r, missing, base_missing, schema="appeared")
    if n_r == 0 and n_b >= policy.min_baseline and active:
        return StreamQuality(stream, 0, missing, base_missing, schema="vanished")
    if n_r < policy.min_recent or n_b < policy.min_baseline:
        return StreamQuality(stream, n_r, missing, base_missing)
    p: dict[str, float] = {}
    out_share = new_share = None
    if recent.missing or baseline.missing:
        p["missing"] = _missing_p(inp)
    if isinstance(recent, NumericHistogram) and isinstance(baseline, NumericHistogram):
        outside = _outside(recent, baseline)
        out_share = _share(outside, recent.count)
        p["out_of_range"] = _tail(outside, recent.count, _rate(inp))
    elif isinstance(recent, CategoricalHistogram) and isinstance(baseline, CategoricalHistogram):
        new = _new(recent, baseline)
        new_share = _share(new, recent.count)
        p["new_category"] = _tail(new, recent.count, _rate(inp))
    return StreamQuality(stream, n_r, missing, base_missing, out_share, new_share, None, p)


def measure_quality(
    inputs: Sequence[QualityInput], policy: QualityPolicy, min_model_events: int | None = None
) -> list[StreamQuality]:
    """The signals of each of a model's streams with their p-values (issues are decided by
    :func:`decide_quality`). A stream without any recent value counts as vanished only while
    the model still sends: at least ``min_model_events`` (default ``policy.min_recent``) values
    in its busiest stream. A stream counts as appeared only when the model has a baseline (its
    busiest stream holds ``policy.min_baseline`` values there): a new model's streams all
    start without one."""
    busiest = max((_total(i.recent) for i in inputs), default=0)
    active = busiest >= (policy.min_recent if min_model_events is None else min_model_events)
    established = max((_total(i.baseline) for i in inputs), default=0) >= policy.min_baseline
    return [_one(inp, policy, active, established) for inp in inputs]


def _effect(q: StreamQuality, test: str, policy: QualityPolicy) -> bool:
    if test == "missing":
        return abs(q.missing_share - q.baseline_missing_share) >= policy.min_missing_change
    if test == "out_of_range":
        return (q.out_of_range_share or 0.0) >= policy.min_out_of_range
    return (q.new_category_share or 0.0) >= policy.min_new_share


def decide_quality(measured: Sequence[StreamQuality], policy: QualityPolicy) -> list[StreamQuality]:
    """Issues of each stream: a test whose p-value is within the model's Benjamini-Hochberg
    cut-off (all tests of all streams together) and whose effect reaches its minimum, plus the
    schema changes."""
    tests = [(i, name, p) for i, q in enumerate(measured) for name, p in q.p_values.items()]
    _, cut = benjamini_hochberg([p for _, _, p in tests], policy.fdr)
    found: dict[int, list[str]] = {i: [] for i in range(len(measured))}
    for i, name, p in tests:
        if p <= cut and _effect(measured[i], name, policy):
            found[i].append(name)
    out = []
    for i, q in enumerate(measured):
        issues = [*found[i], *([q.schema] if q.schema else [])]
        out.append(
            StreamQuality(
                q.stream,
                q.recent_values,
                q.missing_share,
                q.baseline_missing_share,
                q.out_of_range_share,
                q.new_category_share,
                q.schema,
                q.p_values,
                tuple(issues),
            )
        )
    return out
