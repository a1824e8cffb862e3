"""Bins of the calibrated tests (:mod:`drift.calibration`): the baseline's bin plan, any
histogram of the stream as a row of counts on it, and pooling of bins to a minimum expected count.

Bins. The baseline fixes the bins (:class:`BinPlan`): for a numeric stream its quantiles, or one
bin per distinct value when it holds few (integers, ties); for a categorical stream one bin per
category. Bins are then pooled (:func:`pool_columns`) until each has an expected count of at
least ``min_expected`` in the smaller sample: adjacent bins for numbers, rare categories into one
bin for categories (values never seen in the baseline land there too). Every edge is a bucket
boundary, so any histogram maps onto the bins exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from drift.binning import quantile_cuts
from drift.categorical import MISSING, OTHER, CategoricalHistogram
from drift.histogram import Histogram, NumericHistogram

if TYPE_CHECKING:
    from drift.calibration import Null

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class BinPlan:
    """How any histogram of one stream maps onto the baseline's bins.

    Numeric: bin ``j`` holds bucket keys ``<= cuts[j]`` (and ``> cuts[j-1]``); the last bin holds
    the rest. Categorical: one bin per name in ``names``; any other category (a new one) maps to
    the last bin, ``OTHER``. ``per_value`` says the numeric bins are the baseline's distinct values.
    """

    kind: str
    cuts: IntArray | None = None
    names: tuple[str, ...] = ()
    per_value: bool = False
    cut_index: NDArray[np.intp] | None = None  # quantile bins: the baseline buckets closing them

    @property
    def size(self) -> int:
        return len(self.names) if self.kind == "categorical" else int(self.cuts.size) + 1  # type: ignore[union-attr]


def plan_for(
    baseline: Histogram,
    n_bins: int,
    per_value_max: int,
    quantiles: NDArray[np.intp] | None = None,
) -> BinPlan:
    """Bins of a non-empty baseline: quantiles, one per value when few, one per category
    (``quantiles``: the numeric baseline's ``quantile_cuts``, when already known)."""
    if isinstance(baseline, NumericHistogram):
        keys, counts = baseline.buckets()
        if keys.size == 0:
            raise ValueError("cannot plan bins on an empty baseline")
        if keys.size <= per_value_max:
            return BinPlan("numeric", keys[:-1].copy(), per_value=True)
        index = quantile_cuts(keys, counts, n_bins) if quantiles is None else quantiles
        return BinPlan("numeric", keys[index].copy(), cut_index=index)
    if not isinstance(baseline, CategoricalHistogram):
        raise TypeError("vector moments have no bins: their projections are binned")
    held = baseline.counts()
    names = sorted((n for n in held if n != OTHER), key=lambda n: (-held[n], n))
    if baseline.missing:
        names.append(MISSING)
    return BinPlan("categorical", names=(*names, OTHER))


def counts_on(plan: BinPlan, hists: Sequence[Histogram]) -> FloatArray:
    """A (len(hists), plan.size) matrix of counts; numeric missing values are left out."""
    out = np.zeros((len(hists), plan.size))
    if plan.kind == "numeric":
        assert plan.cuts is not None
        parts = [h.raw_buckets() for h in hists if isinstance(h, NumericHistogram)]
        if len(parts) != len(hists):
            raise TypeError("a numeric bin plan needs numeric histograms")
        if not parts:
            return out
        sizes = [k.size for k, _ in parts]
        keys = np.concatenate([k for k, _ in parts])
        counts = np.concatenate([c for _, c in parts]).astype(np.float64)
        rows = np.repeat(np.arange(len(parts)), sizes)
        cols = np.searchsorted(plan.cuts, keys, side="left")
        flat = np.bincount(rows * plan.size + cols, weights=counts, minlength=out.size)
        return flat.reshape(out.shape).astype(np.float64)
    index = {name: j for j, name in enumerate(plan.names)}
    other = len(plan.names) - 1
    for i, h in enumerate(hists):
        if not isinstance(h, CategoricalHistogram):
            raise TypeError("a categorical bin plan needs categorical histograms")
        for name, n in h.counts().items():
            out[i, index.get(name, other)] += n
        if h.missing:
            out[i, index.get(MISSING, other)] += h.missing
    return out


class Subwindows:
    """The baseline sub-windows of one stream, prepared once for the many evaluations that use
    them (each roll-up serves about 24 x 12 evaluations): their buckets concatenated (numeric)
    and the last matrix made for a bin plan, reused while the plan's bins stay the same."""

    __slots__ = ("_flat", "_last", "_nonempty", "hists", "nulls", "quality")

    def __init__(self, hists: Sequence[Histogram]) -> None:
        self.hists = list(hists)
        self._flat: tuple[IntArray, FloatArray, IntArray] | None = None
        self._last: tuple[tuple[object, ...], FloatArray] | None = None
        self._nonempty: tuple[FloatArray, FloatArray, float] | None = None
        self.nulls: dict[bytes, Null] = {}  # null estimates for the last plan, per pooling
        self.quality: dict[str, float] = {}  # data-quality null rates (drift.quality)

    def __len__(self) -> int:
        return len(self.hists)

    def counts(self, plan: BinPlan) -> FloatArray:
        """``counts_on(plan, self.hists)``, cached for the last plan."""
        key = (plan.kind, plan.names, None if plan.cuts is None else plan.cuts.tobytes())
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        if plan.kind == "numeric" and self.hists:
            matrix = self._numeric(plan)
        else:
            matrix = counts_on(plan, self.hists)
        self._last = (key, matrix)
        self.nulls = {}
        return matrix

    def nonempty(self, plan: BinPlan) -> tuple[FloatArray, float]:
        """The rows of ``counts(plan)`` that hold values, and the smallest of their totals
        (infinite when none): what :func:`calibrate_many` keeps of them, kept with them."""
        matrix = self.counts(plan)
        if self._nonempty is None or self._nonempty[0] is not matrix:
            sizes = matrix.sum(1)
            rows = matrix[sizes > 0]
            smallest = float(sizes[sizes > 0].min()) if len(rows) else math.inf
            self._nonempty = (matrix, rows, smallest)
        return self._nonempty[1], self._nonempty[2]

    def _numeric(self, plan: BinPlan) -> FloatArray:
        assert plan.cuts is not None
        if self._flat is None:
            parts = [h.raw_buckets() for h in self.hists if isinstance(h, NumericHistogram)]
            if len(parts) != len(self.hists):
                raise TypeError("a numeric bin plan needs numeric histograms")
            keys = np.concatenate([k for k, _ in parts])
            counts = np.concatenate([c for _, c in parts]).astype(np.float64)
            rows = np.repeat(np.arange(len(parts)), [k.size for k, _ in parts])
            self._flat = (keys, counts, rows)
        keys, counts, rows = self._flat
        cols = np.searchsorted(plan.cuts, keys, side="left")
        flat = np.bincount(rows * plan.size + cols, weights=counts, minlength=len(self) * plan.size)
        return flat.reshape(len(self), plan.size).astype(np.float64)


def pool_columns(
    baseline: FloatArray, n_small: float, ordered: bool, min_expected: float
) -> IntArray:
    """Group index per column so that every group expects ``>= min_expected`` of ``n_small``.

    Ordered (numeric) bins merge with their neighbours, left to right, the last short group into
    the one before. Unordered (categorical) bins: columns expecting too little (and the last,
    ``OTHER``, column) form one group, merged into the smallest kept column if still short."""
    k = baseline.size
    total = baseline.sum()
    expected = n_small * baseline / total if total > 0 else np.zeros(k)
    if ordered:
        return np.array(ordered_groups(expected.tolist(), min_expected), np.int64)
    group = np.zeros(k, np.int64)
    keep = [j for j in range(k - 1) if expected[j] >= min_expected]
    pooled = k if not keep else len(keep)
    for rank, j in enumerate(keep):
        group[j] = rank
    kept = set(keep)
    rare = np.array([j for j in range(k) if j not in kept], np.int64)
    group[rare] = pooled if keep else 0
    if keep and expected[rare].sum() < min_expected:
        smallest = min(keep, key=lambda j: expected[j])
        group[rare] = group[smallest]
    _, dense = np.unique(group, return_inverse=True)
    return dense.astype(np.int64)


def ordered_groups(expected: list[float], min_expected: float) -> list[int]:
    """The ordered branch of :func:`pool_columns` on Python floats: the same sums, without
    numpy's per-element cost."""
    k = len(expected)
    groups, g, acc = [], 0, 0.0
    for j, e in enumerate(expected):
        groups.append(g)
        acc += e
        if acc >= min_expected and j < k - 1:
            g, acc = g + 1, 0.0
    if acc < min_expected and g > 0:
        groups = [g - 1 if x == g else x for x in groups]
    return groups


def pooled(matrix: FloatArray, group: IntArray) -> FloatArray:
    """Columns of ``matrix`` summed per group."""
    if group.size and np.all(group == np.arange(group.size)):
        return matrix
    k = int(group.max()) + 1
    idx = (np.arange(matrix.shape[0])[:, None] * k + group[None, :]).ravel()
    sums = np.bincount(idx, weights=matrix.ravel(), minlength=matrix.shape[0] * k)
    return sums.reshape(matrix.shape[0], k).astype(np.float64)
