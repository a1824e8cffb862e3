"""Stacked numeric histograms: a block's tally and merge equal the per-stream ones exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift import NumericHistogram
from drift.histogram_block import _log_dense, add_block, split_block, tally_block
from drift.mapping import LogMapping

pytestmark = pytest.mark.unit

value = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-10.0, max_value=10.0),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-320, 5e-324, 1e300, -1e300]),
)


@st.composite
def blocks(draw: st.DrawFn) -> tuple[np.ndarray, list[list[float] | None]]:
    n_streams, n = draw(st.integers(1, 5)), draw(st.integers(1, 40))
    rows = draw(
        st.lists(st.lists(value, min_size=n, max_size=n), min_size=n_streams, max_size=n_streams)
    )
    held = draw(
        st.lists(
            st.one_of(st.none(), st.lists(value, max_size=30)),
            min_size=n_streams,
            max_size=n_streams,
        )
    )
    return np.array(rows, np.float64), held


def numeric(xs: list[float] | np.ndarray, accuracy: float = 0.01) -> NumericHistogram:
    h = NumericHistogram(accuracy)
    h.update(np.asarray(xs, np.float64))
    return h


@settings(max_examples=150, deadline=None)
@given(blocks(), st.sampled_from([0.01, 0.05, 0.2]))
def test_a_block_counts_and_merges_like_each_stream_alone(
    block: tuple[np.ndarray, list[list[float] | None]], accuracy: float
) -> None:
    x, held_values = block
    mapping = LogMapping(accuracy)
    held = [None if v is None else numeric(v, accuracy) for v in held_values]
    codes, counts, missing = tally_block(x, mapping)
    alone = [numeric(row, accuracy) for row in x]
    assert split_block(codes, counts, missing, mapping) == alone
    merged = add_block(held, codes, counts, missing, mapping)
    for h, a, got in zip(held, alone, merged, strict=True):
        want = a if h is None else h + a
        assert got == want and got.count == want.count and got.missing == want.missing
        assert got.to_bytes() == want.to_bytes()


def test_spread_out_values_take_the_sorting_path_with_the_same_result() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, (3, 50)) * 10.0 ** rng.integers(-200, 200, (3, 50))
    mapping = LogMapping(0.01)
    assert split_block(*tally_block(x, mapping), mapping) == [numeric(row) for row in x]


def test_held_histograms_are_left_untouched_and_mappings_must_match() -> None:
    mapping = LogMapping(0.01)
    held = numeric([1.0, 2.0, 3.0])
    before = held.to_bytes()
    block = tally_block(np.array([[2.0, 5.0, np.nan]]), mapping)
    (merged,) = add_block([held], *block, mapping)
    assert held.to_bytes() == before and merged == numeric([1.0, 2.0, 3.0, 2.0, 5.0, np.nan])
    with pytest.raises(ValueError, match="mappings"):
        add_block([numeric([1.0], 0.05)], *block, mapping)


plain_value = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(
        lambda v: v == 0.0 or abs(v) > 1e-280
    ),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 1e-5, -3.25, np.nan, np.inf, -np.inf]),
)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda s: st.lists(
            st.lists(plain_value, min_size=1, max_size=60).map(lambda r: r * s), min_size=1
        ).map(lambda rows: [r[: min(map(len, rows))] for r in rows])
    ),
    st.sampled_from([0.01, 0.05, 0.2]),
)
def test_blocks_take_the_logarithm_path_with_the_keys_of_each_stream(
    rows: list[list[float]], accuracy: float
) -> None:
    """Values not near the zero bucket (zeros, NaN and infinities included) take
    ``_log_dense`` (no key array, no mask copy): the codes are those of ``mapping.keys`` and
    the sorting path, and the missing counts those of ``NumericHistogram.update``."""
    x, mapping = np.array(rows, np.float64), LogMapping(accuracy)
    fast = _log_dense(x, mapping)
    finite = np.isfinite(x)
    keys = mapping.keys(x[finite])
    streams = np.repeat(np.arange(x.shape[0], dtype=np.int64), finite.sum(axis=1))
    codes, counts = np.unique((streams << 32) + (keys + 2**31), return_counts=True)
    if fast is None:  # only for a sparse index, or without a non-zero finite value
        magnitudes = np.abs(keys[keys != 0])
        width = 2 * (int(magnitudes.max()) - int(magnitudes.min()) + 1) + 1 if keys.any() else 0
        assert not keys.any() or x.shape[0] * width > 4 * x.size + 4096
        return
    assert np.array_equal(fast[0], codes) and np.array_equal(fast[1], counts)
    assert np.array_equal(fast[2], (~finite).sum(axis=1))
    assert split_block(*tally_block(x, mapping), mapping) == [numeric(row, accuracy) for row in x]


def test_values_near_the_zero_bucket_leave_the_logarithm_path() -> None:
    mapping = LogMapping(0.01)
    near_zero = np.array([[1.0, 2e-300, 0.0]])
    assert _log_dense(near_zero, mapping) is None
    assert _log_dense(np.array([[0.0, np.nan, -np.inf]]), mapping) is None
    assert _log_dense(np.array([[1.0, np.nan, -np.inf]]), mapping) is not None
    assert split_block(*tally_block(near_zero, mapping), mapping) == [numeric(near_zero[0])]
