"""Regrouping of recent and baseline histograms onto common bins.

Numeric: bins are quantiles of the baseline (``n_bins`` of them, fewer when heavy buckets make
quantiles coincide). Every quantile edge is a bucket boundary, so regrouping is exact: each fine
bucket falls wholly into one bin. Recent values below (above) the baseline's range land in the
first (last) bin. Categorical: one bin per category seen on either side, plus ``__missing__``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from drift.categorical import MISSING, CategoricalHistogram
from drift.histogram import NumericHistogram
from drift.sparse import sorted_union
from drift.statistics import Support

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Regrouped:
    labels: tuple[str, ...]
    recent: FloatArray
    baseline: FloatArray
    support: Support | None = None
    edges: FloatArray | None = None  # numeric: bin j holds values <= edges[j] (> edges[j-1])


def quantile_cuts(
    keys: NDArray[np.int64], counts: NDArray[np.int64], n_bins: int
) -> NDArray[np.intp]:
    """Indices of the buckets that close each quantile bin except the last."""
    cumulative = np.cumsum(counts)
    targets = cumulative[-1] * np.arange(1, n_bins) / n_bins
    cuts = np.searchsorted(cumulative, targets, side="left")  # sorted, maybe repeated
    cuts = cuts[np.concatenate(([True], cuts[1:] != cuts[:-1]))]
    return cuts[cuts < keys.size - 1]


_LABELS: dict[bytes, tuple[str, ...]] = {}  # by the edges' bytes; a stream's edges rarely move
_LABELS_KEPT = 4096


def labels_of(edges: FloatArray) -> tuple[str, ...]:
    """Bin labels from the bins' upper edges. Formatting ten edges costs ~10 us, more than
    binning the stream, and a baseline's quantile edges stay the same for many evaluations:
    the labels are kept by the edges' bytes."""
    key = edges.tobytes()
    found = _LABELS.get(key)
    if found is None:
        if len(_LABELS) >= _LABELS_KEPT:
            _LABELS.clear()
        found = _LABELS[key] = _format_labels(edges)
    return found


def _format_labels(edges: FloatArray) -> tuple[str, ...]:
    """Formatted as Python floats: the same text as numpy's float64 (which formats through
    ``float``), at half the cost."""
    if edges.size == 0:
        return ("all",)
    bounds = edges.tolist()
    inner = [f"({lo:.4g}, {hi:.4g}]" for lo, hi in itertools.pairwise(bounds)]
    return (f"<= {bounds[0]:.4g}", *inner, f"> {bounds[-1]:.4g}")


def _support(recent: NumericHistogram, baseline: NumericHistogram) -> Support:
    (rk, rc), (bk, bc) = recent.buckets(), baseline.buckets()
    union = sorted_union(rk, bk)
    r, b = np.zeros(union.size), np.zeros(union.size)
    r[np.searchsorted(union, rk)] = rc
    b[np.searchsorted(union, bk)] = bc
    return Support(baseline.mapping.representatives(union), r, b)


def regroup_numeric(
    recent: NumericHistogram,
    baseline: NumericHistogram,
    n_bins: int,
    cut_index: NDArray[np.intp] | None = None,
) -> Regrouped:
    """Recent and baseline counts on ``n_bins`` quantile bins of a non-empty baseline
    (``cut_index``: the baseline buckets closing each bin, when already known)."""
    (rk, rc), (bk, bc) = recent.raw_buckets(), baseline.raw_buckets()
    if bk.size == 0:
        raise ValueError("cannot regroup onto the quantiles of an empty baseline")
    if cut_index is None:
        cut_index = quantile_cuts(bk, bc, n_bins)
    cumulative = np.cumsum(bc)
    bounds = np.concatenate(([0], cumulative[cut_index], cumulative[-1:]))
    base_counts = np.diff(bounds).astype(np.float64)
    cut_keys = bk[cut_index]
    bins = np.searchsorted(cut_keys, rk, side="left")
    recent_counts = np.bincount(bins, weights=rc, minlength=cut_keys.size + 1).astype(np.float64)
    edges = baseline.mapping.upper_bounds(cut_keys)
    support = _support(recent, baseline)
    return Regrouped(labels_of(edges), recent_counts, base_counts, support, edges)


def regroup_categorical(recent: CategoricalHistogram, baseline: CategoricalHistogram) -> Regrouped:
    """One bin per category (by baseline frequency, then name), ``__missing__`` last."""
    rc, bc = recent.counts(), baseline.counts()
    names = sorted(set(rc) | set(bc), key=lambda name: (-bc.get(name, 0), name))
    r = [float(rc.get(name, 0)) for name in names]
    b = [float(bc.get(name, 0)) for name in names]
    if recent.missing or baseline.missing:
        names.append(MISSING)
        r.append(float(recent.missing))
        b.append(float(baseline.missing))
    return Regrouped(tuple(names), np.array(r), np.array(b))
