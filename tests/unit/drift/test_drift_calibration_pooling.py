"""``pool_columns`` against its former element-by-element loop: the same groups."""

from __future__ import annotations

import numpy as np
import pytest

from drift.bins import pool_columns


def _reference_ordered(baseline: np.ndarray, n_small: float, min_expected: float) -> np.ndarray:
    """The ordered branch as it was: numpy scalars, written element by element."""
    k = baseline.size
    total = baseline.sum()
    expected = n_small * baseline / total if total > 0 else np.zeros(k)
    group = np.zeros(k, np.int64)
    g, acc = 0, 0.0
    for j in range(k):
        group[j] = g
        acc += expected[j]
        if acc >= min_expected and j < k - 1:
            g, acc = g + 1, 0.0
    if acc < min_expected and g > 0:
        group[group == g] = g - 1
    return group


@pytest.mark.parametrize("seed", range(60))
def test_ordered_pooling_unchanged(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(0, 40))
    baseline = rng.poisson(rng.uniform(0.0, 80.0), k).astype(np.float64)
    n_small = float(rng.uniform(1.0, 400.0))
    min_expected = float(rng.choice([0.5, 5.0, 20.0]))
    got = pool_columns(baseline, n_small, True, min_expected)
    want = _reference_ordered(baseline, n_small, min_expected)
    assert got.dtype == want.dtype
    assert got.tolist() == want.tolist()


def test_ordered_pooling_merges_a_short_tail() -> None:
    group = pool_columns(np.array([10.0, 10.0, 10.0, 1.0]), 31.0, True, 5.0)
    assert group.tolist() == [0, 1, 2, 2]
