"""Bucket arithmetic of many streams at once: counts on bins and quantile cuts.

Each stream's sorted bucket keys are shifted by ``i * OFFSET`` (far beyond any key: keys are
int32 in their wire form), so the keys of all streams laid end to end stay sorted and never mix;
one ``searchsorted`` or ``cumsum`` then serves every stream. Counts are integers, so their sums
are exact in any order: the results are those of ``drift.calibration.counts_on`` and
``drift.binning.quantile_cuts`` stream by stream, to the bit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
OFFSET = 1 << 34


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
            key_shift.append(i * OFFSET)
            # global bin = searchsorted + this: the block's row j, the stream's local bin
            bin_shift.append(at + j * width - start + i)
        at += width * len(block)
        start += width
    offsets = np.repeat(np.arange(len(cuts), dtype=np.int64) * OFFSET, [c.size for c in cuts])
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


def quantile_cuts_many(counts: Sequence[IntArray], n_bins: int) -> list[NDArray[np.intp]]:
    """``quantile_cuts(keys, counts[i], n_bins)`` of each non-empty stream: one cumulative sum
    of all streams, one search. A stream's quantile target ``t`` (a float) is first reached
    where its integer cumulative count ``c >= t``, that is ``c >= ceil(t)``: an integer, so the
    search runs on the shared cumulative sum exactly, each target shifted by what the streams
    before it hold (counts are positive: the sum rises strictly, never past a stream's end)."""
    if not counts:
        return []
    sizes = np.array([c.size for c in counts], np.int64)
    cumulative = np.cumsum(np.concatenate(counts))
    ends = np.cumsum(sizes)
    before = np.concatenate(([0], cumulative[ends[:-1] - 1]))
    totals = cumulative[ends - 1] - before
    targets = totals[:, None] * np.arange(1, n_bins)[None, :] / n_bins  # as quantile_cuts
    needed = np.ceil(targets).astype(np.int64) + before[:, None]
    found = np.searchsorted(cumulative, needed.ravel(), side="left").reshape(needed.shape)
    rows = (found - (ends - sizes)[:, None]).tolist()
    out = []
    for row, size in zip(rows, sizes.tolist(), strict=True):
        kept = [c for i, c in enumerate(row) if (i == 0 or c != row[i - 1]) and c < size - 1]
        out.append(np.array(kept, np.intp))
    return out
