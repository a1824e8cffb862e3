"""Stacked numeric histograms: a block's tally and merge equal the per-stream ones exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift import NumericHistogram
from drift.histogram_block import add_block, split_block, tally_block
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
