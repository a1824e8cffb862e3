"""Binning and measuring all numeric streams of a model in one pass.

One evaluation of a model of 20 streams cost about 5 ms, mostly Python-level overhead: each
stream ran ~150 numpy calls on arrays of a few hundred elements. Here the streams' bucket keys
are laid end to end, each stream's keys shifted by its own offset (``i * OFFSET``, far beyond any
key): one stable argsort gives every stream's fine support, one search of it and a ``bincount``
per side both sides' counts on the metric bins, one cumulative sum the KS and Wasserstein
inputs of all streams. What stays per stream is what must: the dot products (BLAS sums in its
own order, which no vectorised sum reproduces bit for bit) on each stream's slice.

The results are those of ``drift.binning.regroup_numeric``, ``drift.calibration.counts_on`` and
``drift.statistics.compute_all`` bit for bit: the counts are integers (exact in any order of
summation), every other array is the same elementwise expression on the same numbers, and every
reduction that is not exact runs on the same contiguous values as before (the unit tests
compare both paths on random models).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from drift.binning import Regrouped, labels_of, quantile_cuts
from drift.binning_many import OFFSET, count_rows
from drift.bins import BinPlan
from drift.histogram import NumericHistogram
from drift.mapping import LogMapping
from drift.statistics import Comparison, Support, compute_all
from drift.statistics.combined_many import binned_many

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class NumericInput:
    """One numeric stream with data on both sides; ``plan`` (calibrated streams only): the
    calibration's bins, on which the recent window, the baseline and ``fresh`` are counted."""

    recent: NumericHistogram
    baseline: NumericHistogram
    plan: BinPlan | None = None
    fresh: Sequence[NumericHistogram] = ()
    quantiles: NDArray[np.intp] | None = None  # the baseline's quantile_cuts, when known


@dataclass(frozen=True, slots=True)
class NumericMeasure:
    """What ``drift.evaluate`` needs of one numeric stream: the regrouped counts, the two
    statistics of the fine support (normed Wasserstein, KS), and (calibrated) the rows recent,
    baseline, fresh parts on the plan's bins."""

    grouped: Regrouped
    cdf: tuple[float, float]
    rows: FloatArray | None


@dataclass(frozen=True, slots=True)
class _Supports:
    """Every stream's fine support end to end: stream ``i`` is ``[bounds[i], bounds[i + 1])``."""

    values: FloatArray
    recent: FloatArray
    baseline: FloatArray
    bounds: list[int]
    keys: IntArray  # the union's keys, stream i's shifted by i * OFFSET


def _supports(items: Sequence[NumericInput]) -> _Supports:
    """``drift.binning``'s support (union of both sides' keys, their counts and representative
    values) of every stream, in one stable argsort (two sorted runs: one merge pass) that also
    says where each side's key went, instead of a search per side."""
    parts = [(it.recent.raw_buckets(), it.baseline.raw_buckets()) for it in items]
    sides = [r for r, _ in parts] + [b for _, b in parts]
    local = np.concatenate([k for k, _ in sides])
    shift = np.arange(len(items), dtype=np.int64) * OFFSET
    keys = local + np.tile(shift, 2).repeat([k.size for k, _ in sides])
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    first = np.empty(ordered.size, bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    where = np.empty(keys.size, np.int64)
    where[order] = np.cumsum(first) - 1  # each key's place in the union
    union, union_local = ordered[first], local[order][first]
    n_recent = sum(r[0].size for r, _ in parts)
    r, b = np.zeros(union.size), np.zeros(union.size)
    r[where[:n_recent]] = np.concatenate([c for _, c in sides[: len(items)]])
    b[where[n_recent:]] = np.concatenate([c for _, c in sides[len(items) :]])
    edges = np.searchsorted(union, np.arange(len(items) + 1, dtype=np.int64) * OFFSET - OFFSET // 2)
    bounds = edges.tolist()
    mapping = items[0].baseline.mapping
    if all(it.baseline.mapping == mapping for it in items):
        values = representatives(mapping, union_local)
    else:
        values = np.concatenate(
            [
                it.baseline.mapping.representatives(union_local[lo:hi])
                for it, (lo, hi) in zip(items, itertools.pairwise(bounds), strict=False)
            ]
        )
    return _Supports(values, r, b, bounds, union)


_TABLE_SPAN = 1 << 18  # keys: 2 MB of representatives per bucket mapping at most
_tables: dict[LogMapping, tuple[int, FloatArray]] = {}


def representatives(mapping: LogMapping, keys: IntArray) -> FloatArray:
    """``mapping.representatives(keys)`` looked up in a table of every key between the least
    and the greatest seen (the same elementwise ``exp``, computed once per key instead of at
    every evaluation); computed directly when the keys span too much."""
    if not keys.size:
        return mapping.representatives(keys)
    lo, hi = int(keys.min()), int(keys.max())
    start, table = _tables.get(mapping, (lo, np.zeros(0)))
    if lo < start or hi >= start + table.size:
        start, stop = min(lo, start), max(hi + 1, start + table.size)
        if stop - start > _TABLE_SPAN:
            return mapping.representatives(keys)
        table = mapping.representatives(np.arange(start, stop, dtype=np.int64))
        _tables[mapping] = (start, table)
    return table[keys - start]


def _cdf_metrics(s: _Supports) -> list[tuple[float, float]]:
    """``drift.statistics.combined._cdf_metrics`` of every stream: (normed W1, KS). The
    cumulative sums run over all streams at once (integers: exact), then are taken back to each
    stream's own by subtracting what the streams before it summed."""
    bounds = np.array(s.bounds)
    starts, sizes = bounds[:-1], np.diff(bounds)
    gaps, totals = [], np.zeros(0)
    for counts in (s.recent, s.baseline):
        cumulative = np.cumsum(counts)
        before = np.concatenate(([0.0], cumulative[bounds[1:-1] - 1]))
        local = cumulative - np.repeat(before, sizes)
        totals = cumulative[bounds[1:] - 1] - before
        gaps.append(local / np.repeat(totals, sizes))
    gap = np.abs(gaps[0] - gaps[1])
    ks = np.maximum.reduceat(gap, starts).tolist()
    steps = np.diff(s.values)
    scales = _spreads(s, totals, sizes)
    out = []
    for i, (lo, hi) in enumerate(itertools.pairwise(s.bounds)):
        w1 = float(np.dot(gap[lo : hi - 1], steps[lo : hi - 1]))
        out.append((w1 / scales[i], float(ks[i])))
    return out


def _spreads(s: _Supports, totals: FloatArray, sizes: IntArray) -> list[float]:
    """``wasserstein.baseline_spread`` of each stream's baseline on its support (its totals:
    the exact integer sums ``weights.sum()`` gives): the squared deviations of all streams in
    one pass, the two weighted sums per stream as there, by ``np.dot`` on its slice."""
    values, weights = s.values, s.baseline
    pairs = list(itertools.pairwise(s.bounds))
    means = [
        np.float64(float(np.dot(values[lo:hi], weights[lo:hi]))) / total
        for (lo, hi), total in zip(pairs, totals.tolist(), strict=True)
    ]
    squares = (values - np.repeat(np.array(means), sizes)) ** 2
    out = []
    for (lo, hi), total, mean in zip(pairs, totals.tolist(), means, strict=True):
        spread = math.sqrt(float(np.dot(squares[lo:hi], weights[lo:hi])) / total)
        out.append(spread if spread > 0 else (abs(float(mean)) * 0.02 or 1.0))
    return out


def _metric_cuts(it: NumericInput, n_bins: int) -> NDArray[np.intp]:
    if it.quantiles is not None:
        return it.quantiles
    if it.plan is not None and it.plan.cut_index is not None:
        return it.plan.cut_index
    keys, counts = it.baseline.raw_buckets()
    return quantile_cuts(keys, counts, n_bins)


def measure_numeric(items: Sequence[NumericInput], n_bins: int) -> list[NumericMeasure]:
    """:func:`drift.binning.regroup_numeric`, the support statistics and (with a plan) the
    calibration's count rows of each stream (both sides non-empty), the streams binned
    together; :func:`metrics_many` adds the binned statistics."""
    if not items:
        return []
    cuts = [it.baseline.raw_buckets()[0][_metric_cuts(it, n_bins)] for it in items]
    supports = _supports(items)
    recent, baseline, starts = _binned_supports(supports, cuts)
    plan_cuts, blocks = [], []
    for it, cut in zip(items, cuts, strict=True):
        if it.plan is None:
            continue
        fresh = [h.raw_buckets() for h in it.fresh]
        if it.plan.cut_index is not None:  # the metric bins: both sides are binned already
            plan_cuts.append(cut)
            blocks.append([_EMPTY, _EMPTY, *fresh])
        else:  # one bin per value
            assert it.plan.cuts is not None
            plan_cuts.append(it.plan.cuts)
            blocks.append([it.recent.raw_buckets(), it.baseline.raw_buckets(), *fresh])
    matrices = iter(count_rows(plan_cuts, blocks))
    cdf = _cdf_metrics(supports)
    out = []
    for i, (it, edges) in enumerate(zip(items, _edges(cuts, items), strict=True)):
        at, width = starts[i], cuts[i].size + 1
        r, b = recent[at : at + width], baseline[at : at + width]
        rows = None if it.plan is None else next(matrices)
        if rows is not None and it.plan is not None and it.plan.cut_index is not None:
            rows[0], rows[1] = r, b
            r, b = rows[0], rows[1]
        lo, hi = supports.bounds[i], supports.bounds[i + 1]
        support = Support(supports.values[lo:hi], supports.recent[lo:hi], supports.baseline[lo:hi])
        grouped = Regrouped(labels_of(edges), r, b, support, edges)
        out.append(NumericMeasure(grouped, cdf[i], rows))
    return out


_EMPTY = (np.zeros(0, np.int64), np.zeros(0, np.int64))


def _binned_supports(
    s: _Supports, cuts: list[IntArray]
) -> tuple[FloatArray, FloatArray, list[int]]:
    """Both sides of every stream on its metric bins, from the supports (each side's keys once,
    zeros elsewhere: the same integer sums as binning the sides' own keys): one search of the
    union, one ``bincount`` per side; stream ``i``'s bins start at the third value's ``[i]``."""
    n = len(cuts)
    widths = [c.size + 1 for c in cuts]
    shift = np.arange(n, dtype=np.int64)
    all_cuts = np.concatenate(cuts) + np.repeat(shift * OFFSET, [c.size for c in cuts])
    streams = np.repeat(shift, np.diff(s.bounds))
    index = np.searchsorted(all_cuts, s.keys, side="left") + streams  # as in count_rows
    total = sum(widths)
    recent = np.bincount(index, weights=s.recent, minlength=total).astype(np.float64, copy=False)
    baseline = np.bincount(index, weights=s.baseline, minlength=total)
    starts = np.cumsum([0, *widths[:-1]]).tolist()
    return recent, baseline.astype(np.float64, copy=False), starts


def _edges(cuts: list[IntArray], items: Sequence[NumericInput]) -> list[FloatArray]:
    """The upper value edges of each stream's metric bins, from its cut keys, in one call when
    one mapping serves all."""
    mapping = items[0].baseline.mapping
    if not all(it.baseline.mapping == mapping for it in items):
        return [it.baseline.mapping.upper_bounds(k) for it, k in zip(items, cuts, strict=True)]
    bounds = np.cumsum([0, *(k.size for k in cuts)]).tolist()
    edges = mapping.upper_bounds(np.concatenate(cuts))
    return [edges[lo:hi] for lo, hi in itertools.pairwise(bounds)]


def metrics_many(
    grouped: Sequence[Regrouped], cdf: Sequence[tuple[float, float] | None], smoothing: float
) -> list[dict[str, float]]:
    """``compute_all`` of each stream (numeric or categorical), in the registry's order: the
    binned statistics of all streams together, a numeric stream's support statistics already
    computed (``cdf``). With no smoothing shares may be zero: then each stream as before."""
    if smoothing <= 0:
        return [
            compute_all(Comparison.from_counts(g.recent, g.baseline, g.support, smoothing))
            for g in grouped
        ]
    binned = binned_many([g.recent for g in grouped], [g.baseline for g in grouped], smoothing)
    for found, support in zip(binned, cdf, strict=True):
        if support is not None:
            chi2 = found.pop("chi2_pvalue")
            found.update(wasserstein=support[0], ks_statistic=support[1], chi2_pvalue=chi2)
    return binned
