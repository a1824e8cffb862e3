"""Sparse bucket counts: sorted integer keys with positive counts, and their arithmetic."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Keys = NDArray[np.int64]


def sorted_union(a: Keys, b: Keys) -> Keys:
    """Union of two sorted key arrays (a sort and a neighbour test; cheaper than np.union1d)."""
    union = np.concatenate((a, b))
    union.sort()
    return union[np.concatenate(([True], union[1:] != union[:-1]))] if union.size else union


def tally(keys: Keys) -> tuple[Keys, Keys]:
    """Sorted distinct keys and their counts: a counting pass when the keys are dense,
    a sort when the batch is small next to the span of its keys (e.g. values of both signs)."""
    low, high = int(keys.min()), int(keys.max())
    if high - low > 4 * keys.size:
        distinct, counts = np.unique(keys, return_counts=True)
        return distinct, counts.astype(np.int64)
    binned = np.bincount(keys - low)
    present = np.flatnonzero(binned)
    return present + low, binned[present]


def total(keys: list[Keys], counts: list[Keys]) -> tuple[Keys, Keys]:
    """Sorted distinct keys and summed counts of several sparse count arrays (one sort)."""
    k, c = np.concatenate(keys), np.concatenate(counts)
    if k.size == 0:
        return k, c
    order = np.argsort(k, kind="stable")
    k, c = k[order], c[order]
    starts = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
    return k[starts], np.add.reduceat(c, starts)


def combine(
    keys: Keys, counts: Keys, other_keys: Keys, other_counts: Keys, sign: int
) -> tuple[Keys, Keys]:
    """``counts + sign * other_counts`` on the union of keys; new arrays, inputs untouched.

    Raises ValueError when a subtraction would leave a negative count; zero counts are dropped.
    """
    at = np.searchsorted(keys, other_keys)
    if at.size and at[-1] < keys.size and np.array_equal(keys[at], other_keys):
        merged = counts.copy()  # every key already present: no union needed
        merged[at] += sign * other_counts
    else:
        union = sorted_union(keys, other_keys)
        merged = np.zeros(union.size, dtype=np.int64)
        merged[np.searchsorted(union, keys)] = counts
        merged[np.searchsorted(union, other_keys)] += sign * other_counts
        keys = union
    if sign > 0:
        return keys, merged
    if (merged < 0).any():
        raise ValueError("cannot subtract a histogram that is not contained in this one")
    kept = merged > 0
    return keys[kept], merged[kept]


def check(keys: Keys, counts: Keys) -> None:
    """Raise ValueError unless keys are strictly increasing and counts positive."""
    if keys.shape != counts.shape or (keys.size and (np.diff(keys) <= 0).any()):
        raise ValueError("bucket keys must be strictly increasing")
    if (counts <= 0).any():
        raise ValueError("bucket counts must be positive")
