"""Binning and measuring all numeric streams of a model in one pass.

One evaluation of a model of 20 streams cost about 5 ms, mostly Python-level overhead: each
stream ran ~150 numpy calls on arrays of a few hundred elements. Here the streams' bucket keys
are laid end to end, each stream's keys shifted by its own offset (``i * _OFF``, far beyond any
key), so one ``searchsorted`` and one ``bincount`` bin every stream at once, and one sorted union
gives every stream's fine support. What stays per stream is what must: the dot products (BLAS
sums in its own order, which no vectorised sum reproduces bit for bit) and the labels.

The results are those of ``drift.binning.regroup_numeric``, ``drift.calibration.counts_on`` and
``drift.statistics.compute_all`` bit for bit: the counts are integers (exact in any order of
summation), every other array is the same elementwise expression on the same numbers, and every
reduction that is not exact runs on the same contiguous values as before (the unit tests
compare both paths on random models).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from drift.binning import Regrouped, labels_of, quantile_cuts
from drift.calibration import BinPlan
from drift.histogram import NumericHistogram
from drift.statistics import Comparison, Support, compute_all
from drift.statistics.combined_many import binned_many
from drift.statistics.wasserstein import baseline_spread

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
_OFF = 1 << 34  # keys are int32 (their wire form): shifted by i * _OFF, streams never overlap


@dataclass(frozen=True, slots=True)
class NumericInput:
    """One numeric stream with data on both sides; ``plan`` (calibrated streams only): the
    calibration's bins, on which the recent window, the baseline and ``fresh`` are counted."""

    recent: NumericHistogram
    baseline: NumericHistogram
    plan: BinPlan | None = None
    fresh: Sequence[NumericHistogram] = ()


@dataclass(frozen=True, slots=True)
class NumericMeasure:
    """What ``drift.evaluate`` needs of one numeric stream: the regrouped counts, the two
    statistics of the fine support (normed Wasserstein, KS), and (calibrated) the rows recent,
    baseline, fresh parts on the plan's bins."""

    grouped: Regrouped
    cdf: tuple[float, float]
    rows: FloatArray | None


def count_rows(
    cuts: Sequence[IntArray], rows: Sequence[Sequence[tuple[IntArray, IntArray]]]
) -> list[FloatArray]:
    """For each block ``i`` a ``(len(rows[i]), cuts[i].size + 1)`` matrix: row ``j`` holds the
    counts of the sparse buckets ``rows[i][j]`` on the bins of ``cuts[i]`` (bin ``b``: keys
    ``<= cuts[b]`` and ``> cuts[b - 1]``), as ``counts_on`` gives, for all blocks in one
    ``searchsorted`` and one ``bincount``."""
    widths = [c.size + 1 for c in cuts]
    keys, counts, sizes, key_shift, bin_shift = [], [], [], [], []
    at = start = 0
    for i, (width, block) in enumerate(zip(widths, rows, strict=True)):
        for j, (k, c) in enumerate(block):
            keys.append(k)
            counts.append(c)
            sizes.append(k.size)
            key_shift.append(i * _OFF)
            # global bin = searchsorted + this: the block's row j, the stream's local bin
            bin_shift.append(at + j * width - start + i)
        at += width * len(block)
        start += width
    offsets = np.repeat(np.arange(len(cuts), dtype=np.int64) * _OFF, [c.size for c in cuts])
    all_cuts = np.concatenate([*cuts, np.zeros(0, np.int64)]) + offsets
    flat_keys = np.concatenate([*keys, np.zeros(0, np.int64)])
    flat_keys += np.repeat(np.array(key_shift, np.int64), sizes)
    index = np.searchsorted(all_cuts, flat_keys, side="left")
    index += np.repeat(np.array(bin_shift, np.int64), sizes)
    weights = np.concatenate([*counts, np.zeros(0, np.int64)]).astype(np.float64)
    counted = np.bincount(index, weights=weights, minlength=at)
    flat: FloatArray = counted.astype(np.float64, copy=False)
    out, at = [], 0
    for width, block in zip(widths, rows, strict=True):
        size = width * len(block)
        out.append(flat[at : at + size].reshape(len(block), width))
        at += size
    return out


@dataclass(frozen=True, slots=True)
class _Supports:
    """Every stream's fine support end to end: stream ``i`` is ``[bounds[i], bounds[i + 1])``."""

    values: FloatArray
    recent: FloatArray
    baseline: FloatArray
    bounds: list[int]


def _supports(items: Sequence[NumericInput]) -> _Supports:
    """``drift.binning``'s support (union of both sides' keys, their counts and representative
    values) of every stream, in one sort."""
    parts = [(it.recent.raw_buckets(), it.baseline.raw_buckets()) for it in items]
    shift = np.arange(len(items), dtype=np.int64) * _OFF
    rk = np.concatenate([r[0] for r, _ in parts]) + np.repeat(shift, [r[0].size for r, _ in parts])
    bk = np.concatenate([b[0] for _, b in parts]) + np.repeat(shift, [b[0].size for _, b in parts])
    union = np.concatenate((rk, bk))
    union.sort(kind="stable")  # two sorted runs: timsort merges them in one pass
    union = union[np.concatenate(([True], union[1:] != union[:-1]))]
    r, b = np.zeros(union.size), np.zeros(union.size)
    r[np.searchsorted(union, rk)] = np.concatenate([r[1] for r, _ in parts])
    b[np.searchsorted(union, bk)] = np.concatenate([b[1] for _, b in parts])
    edges = np.searchsorted(union, np.arange(len(items) + 1, dtype=np.int64) * _OFF - _OFF // 2)
    bounds = edges.tolist()
    local = union - np.repeat(shift, np.diff(edges))
    mapping = items[0].baseline.mapping
    if all(it.baseline.mapping == mapping for it in items):
        values = mapping.representatives(local)
    else:
        values = np.concatenate(
            [
                it.baseline.mapping.representatives(local[lo:hi])
                for it, (lo, hi) in zip(items, itertools.pairwise(bounds), strict=False)
            ]
        )
    return _Supports(values, r, b, bounds)


def _cdf_metrics(s: _Supports) -> list[tuple[float, float]]:
    """``drift.statistics.combined._cdf_metrics`` of every stream: (normed W1, KS). The
    cumulative sums run over all streams at once (integers: exact), then are taken back to each
    stream's own by subtracting what the streams before it summed."""
    bounds = np.array(s.bounds)
    starts, sizes = bounds[:-1], np.diff(bounds)
    gaps = []
    for counts in (s.recent, s.baseline):
        cumulative = np.cumsum(counts)
        before = np.concatenate(([0.0], cumulative[bounds[1:-1] - 1]))
        local = cumulative - np.repeat(before, sizes)
        totals = cumulative[bounds[1:] - 1] - before
        gaps.append(local / np.repeat(totals, sizes))
    gap = np.abs(gaps[0] - gaps[1])
    ks = np.maximum.reduceat(gap, starts).tolist()
    steps = np.diff(s.values)
    out = []
    for i, (lo, hi) in enumerate(itertools.pairwise(s.bounds)):
        scale = baseline_spread(s.values[lo:hi], s.baseline[lo:hi], 0.02)
        w1 = float(np.dot(gap[lo : hi - 1], steps[lo : hi - 1]))
        out.append((w1 / scale, float(ks[i])))
    return out


def _metric_cuts(it: NumericInput, n_bins: int) -> NDArray[np.intp]:
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
    indices = [_metric_cuts(it, n_bins) for it in items]
    cuts, blocks = [], []
    for it, index in zip(items, indices, strict=True):
        sides = [it.recent.raw_buckets(), it.baseline.raw_buckets()]
        cuts.append(it.baseline.raw_buckets()[0][index])
        if it.plan is not None and it.plan.cut_index is not None:
            blocks.append([*sides, *(h.raw_buckets() for h in it.fresh)])
            continue
        blocks.append(sides)
        if it.plan is not None:  # one bin per value: its own block
            assert it.plan.cuts is not None
            cuts.append(it.plan.cuts)
            blocks.append([*sides, *(h.raw_buckets() for h in it.fresh)])
    matrices = iter(count_rows(cuts, blocks))
    supports = _supports(items)
    grouped, rows = [], []
    for i, (it, cut_keys) in enumerate(zip(items, _metric_keys(cuts, items), strict=True)):
        metric_rows = next(matrices)
        per_value = it.plan is not None and it.plan.cut_index is None
        rows.append(next(matrices) if per_value else None if it.plan is None else metric_rows)
        lo, hi = supports.bounds[i], supports.bounds[i + 1]
        support = Support(supports.values[lo:hi], supports.recent[lo:hi], supports.baseline[lo:hi])
        edges = it.baseline.mapping.upper_bounds(cut_keys)
        grouped.append(Regrouped(labels_of(edges), metric_rows[0], metric_rows[1], support, edges))
    cdf = _cdf_metrics(supports)
    return [NumericMeasure(*found) for found in zip(grouped, cdf, rows, strict=True)]


def _metric_keys(cuts: list[IntArray], items: Sequence[NumericInput]) -> list[IntArray]:
    """The metric cut keys among ``cuts`` (a per-value plan adds a block after its stream's)."""
    out, at = [], 0
    for it in items:
        out.append(cuts[at])
        at += 2 if it.plan is not None and it.plan.cut_index is None else 1
    return out


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
