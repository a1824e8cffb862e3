"""Numeric histograms of many streams at once: a batch's tally and its merge in a few numpy calls.

The worker counts a model's batch into every numeric stream of a bucket. Per stream the arrays
are small, so numpy's per-call overhead, not the data, used to dominate (a tally, a merge into
the bucket, a merge into the window sums, each ~10 calls, for each of 20 streams). Here the
streams lie side by side as one sorted int64 *code* array: the stream's index in the high 32
bits, ``key + 2**31`` in the low ones (keys fit int32, as in their binary form), so the codes of
stream ``s`` are a contiguous, sorted run and the whole block is tallied, merged and split with
a fixed number of calls whatever the number of streams.

Exact: ``tally_block`` gives every stream the keys, counts and missing count that
``NumericHistogram.update`` gives, ``add_block`` what ``+=`` gives, stream by stream (a
hypothesis test compares them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from drift.histogram import NumericHistogram
from drift.mapping import LogMapping

_SHIFT = 32
_BIAS = 2**31
_LOW = (1 << _SHIFT) - 1
_NONE = np.zeros(0, np.int64)
Ints = NDArray[np.int64]


def _dense(streams: Ints, keys: Ints, n_streams: int) -> tuple[Ints, Ints] | None:
    """Sorted distinct codes and their counts by one ``bincount`` over a compact index: the
    magnitudes present, mirrored for negative keys around the zero key (order kept); None
    when that index is too sparse for the batch (spread-out values: the caller sorts)."""
    magnitude = np.abs(keys)
    lowest = int(np.min(magnitude, where=magnitude > 0, initial=_BIAS))
    span = max(int(magnitude.max()) - lowest + 1, 0)
    width = 2 * span + 1
    if n_streams * width > 4 * keys.size + 4096:
        return None
    magnitude -= lowest - 1
    np.maximum(magnitude, 0, out=magnitude)  # the zero key: 0, every other one: 1..span
    magnitude *= np.sign(keys)
    magnitude += span + streams * width
    binned = np.bincount(magnitude, minlength=n_streams * width)
    return _codes_of_bins(binned, width, span, lowest)


def _log_dense(x: NDArray[np.float64], mapping: LogMapping) -> tuple[Ints, Ints, Ints] | None:
    """``tally_block`` without a key array, mask copy or sort: the bincount index computed
    straight from the logarithms in one float array (integers below 2**53 stay exact), one
    pass per step. The keys are ``mapping.keys``' (the same logarithm, product and ceiling);
    the lowest and highest magnitude come from the logarithms' extremes; NaN and infinities
    go to one extra bin, dropped. None: not this case (a value below the mapping's minimum
    other than zero, only zeros or non-finite values, a sparse index): the general path."""
    n_streams = x.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        index = np.abs(x)
        np.log(index, out=index)  # zero: -inf; NaN: NaN; infinity: inf
    top = float(index.max())
    bad: NDArray[np.bool_] | None = None
    missing = np.zeros(n_streams, np.int64)
    if not math.isfinite(top):  # NaN or inf among the values (or only zeros)
        bad = ~np.isfinite(x)
        missing = bad.sum(axis=1, dtype=np.int64)
        top = float(np.max(index, where=~bad, initial=-np.inf))
        if not math.isfinite(top):
            return None
    low = float(np.min(index, where=index > -np.inf, initial=np.inf))  # no NaN, zero or inf
    if low < math.log(mapping.min_value) + 1.0:  # near the zero bucket's edge: exact path
        return None
    inv, offset = mapping.inverse_log_gamma, mapping.key_offset
    lowest = math.ceil(low * inv) - offset  # the smallest non-zero magnitude key
    highest = math.ceil(top * inv) - offset
    if highest >= _BIAS:
        raise ValueError("bucket keys beyond int32: the relative accuracy is too fine")
    span = highest - lowest + 1
    width = 2 * span + 1
    if n_streams * width > 4 * x.size + 4096:
        return None
    index *= inv
    np.ceil(index, out=index)
    index -= offset + lowest - 1  # magnitude key - (lowest - 1): 1..span; zero: -inf
    np.maximum(index, 0.0, out=index)  # the zero key: 0
    np.copysign(index, x, out=index)
    index += (span + np.arange(n_streams) * width)[:, None]
    if bad is not None:
        np.copyto(index, n_streams * width, where=bad)  # the dropped bin
    binned = np.bincount(index.astype(np.intp).ravel(), minlength=n_streams * width + 1)
    codes, counts = _codes_of_bins(binned[: n_streams * width], width, span, lowest)
    return codes, counts, missing


def _codes_of_bins(binned: Ints, width: int, span: int, lowest: int) -> tuple[Ints, Ints]:
    """Codes and counts of a compact index's bincount (``_dense``): stream ``s``'s key ``k``
    at ``s * width + span + sign(k) * (|k| - lowest + 1)``, the zero key at ``+ span``."""
    present = np.flatnonzero(binned)
    stream, at = np.divmod(present, width)
    at -= span
    key = np.sign(at) * (np.abs(at) + (lowest - 1))
    return (stream << _SHIFT) + (key + _BIAS), binned[present]


def tally_block(values: NDArray[np.float64], mapping: LogMapping) -> tuple[Ints, Ints, Ints]:
    """(codes, counts, missing per stream) of an (S, n) array: row ``s`` is stream ``s``'s
    values; non-finite values count as missing, as in ``NumericHistogram.update``."""
    x = np.asarray(values, np.float64)
    if x.size and x.ndim == 2:
        fast = _log_dense(x, mapping)
        if fast is not None:
            return fast
    finite = np.isfinite(x)
    n_finite = finite.sum(axis=1)
    missing = (x.shape[1] - n_finite).astype(np.int64)
    valid = x[finite]  # row-major: stream 0's values first
    if valid.size == 0:
        return _NONE, _NONE, missing
    keys = mapping.keys(valid)
    if int(np.abs(keys).max()) >= _BIAS:  # never at a relative accuracy the changelog can store
        raise ValueError("bucket keys beyond int32: the relative accuracy is too fine")
    streams = np.repeat(np.arange(x.shape[0], dtype=np.int64), n_finite)
    dense = _dense(streams, keys, x.shape[0])
    if dense is not None:
        return dense[0], dense[1], missing
    codes, counts = np.unique((streams << _SHIFT) + (keys + _BIAS), return_counts=True)
    return codes, counts.astype(np.int64), missing


def _codes_of(hists: Sequence[NumericHistogram | None]) -> tuple[Ints, Ints]:
    """The held histograms' buckets as one code array (and counts)."""
    arrays = [h.raw_buckets() if h is not None else (_NONE, _NONE) for h in hists]
    sizes = [k.size for k, _ in arrays]
    if not any(sizes):
        return _NONE, _NONE
    keys = np.concatenate([k for k, _ in arrays])
    counts = np.concatenate([c for _, c in arrays])
    high = np.repeat(np.arange(len(hists), dtype=np.int64) << _SHIFT, sizes)
    return high + (keys + _BIAS), counts


def _merge(held: Ints, held_counts: Ints, codes: Ints, counts: Ints) -> tuple[Ints, Ints]:
    """Sorted codes ``held`` plus sorted ``codes``: the union and summed counts (new arrays)."""
    at = np.searchsorted(held, codes)
    present = np.zeros(codes.size, bool)
    inside = at < held.size
    present[inside] = held[at[inside]] == codes[inside]
    if present.all():
        merged = held_counts.copy()
        merged[at] += counts
        return held, merged
    new = ~present
    union = np.insert(held, at[new], codes[new])
    merged = np.insert(held_counts, at[new], 0)
    before = np.cumsum(new) - new  # new codes inserted ahead of each code
    merged[at + before] += counts
    return union, merged


def split_block(
    codes: Ints, counts: Ints, missing: Ints, mapping: LogMapping
) -> list[NumericHistogram]:
    """One histogram per stream of a block (views of its arrays: never mutated in place)."""
    n_streams = missing.size
    keys = (codes & _LOW) - _BIAS
    bounds = np.searchsorted(codes >> _SHIFT, np.arange(n_streams + 1)).tolist()
    out = []
    for s, m in enumerate(missing.tolist()):
        a, b = bounds[s], bounds[s + 1]
        out.append(NumericHistogram.from_arrays(mapping, keys[a:b], counts[a:b], m))
    return out


def add_block(
    held: Sequence[NumericHistogram | None],
    codes: Ints,
    counts: Ints,
    missing: Ints,
    mapping: LogMapping,
) -> list[NumericHistogram]:
    """Per stream, ``held[s]`` (None: empty) plus stream ``s`` of the block: new histograms,
    ``held`` untouched. Every held histogram must have ``mapping``."""
    if any(h is not None and h.mapping != mapping for h in held):
        raise ValueError("cannot combine histograms with different bucket mappings")
    held_codes, held_counts = _codes_of(held)
    union, merged = _merge(held_codes, held_counts, codes, counts)
    total_missing = missing + np.array([h.missing if h else 0 for h in held], np.int64)
    return split_block(union, merged, total_missing, mapping)
