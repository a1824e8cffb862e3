"""The sorted id sets equal numpy's set functions on any uint64 hashes (repeats, the extremes)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream_app.id_sets import member, repeats, sorted_union

pytestmark = pytest.mark.unit

# few distinct values so that repeats and overlaps are common, and the uint64 extremes
hashes = st.lists(
    st.one_of(st.integers(1, 40), st.sampled_from([2**63 - 1, 2**63, 2**64 - 1])), max_size=60
).map(lambda v: np.array(v, dtype=np.uint64))


@settings(max_examples=300, deadline=None)
@given(values=hashes, held=hashes, new=hashes)
def test_sorted_id_sets_equal_numpys(values, held, new):
    expected = np.ones(len(values), bool)
    expected[np.unique(values, return_index=True)[1]] = False
    np.testing.assert_array_equal(repeats(values, []), expected)
    ids = np.unique(held)
    if len(ids):
        np.testing.assert_array_equal(member(values, ids), np.isin(values, ids))
        others = np.unique(new)
        held_sets = [a for a in (ids, others) if len(a)]
        expected_all = expected.copy()
        for a in held_sets:
            expected_all |= np.isin(values, a)
        np.testing.assert_array_equal(repeats(values, held_sets), expected_all)
    if len(new):
        union = sorted_union(ids, new)
        assert union.dtype == np.uint64
        np.testing.assert_array_equal(union, np.union1d(ids, new))
