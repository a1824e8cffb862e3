"""The offsets a bucket record holds: runs, unions, membership, and the stored form."""

from __future__ import annotations

import hashlib
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from drift import NumericHistogram
from stream_app.state import (
    BucketRecord,
    id_digests,
    id_hash,
    in_spans,
    merge_spans,
    offset_runs,
    pack_histograms,
)

pytestmark = pytest.mark.unit

offsets = st.lists(st.integers(0, 200), max_size=60)


@given(st.lists(offsets, max_size=6), offsets)
def test_spans_hold_exactly_the_offsets_taken_in(batches, probe):
    spans: list[tuple[int, int]] = []
    taken: set[int] = set()
    for batch in batches:
        spans = merge_spans(spans, offset_runs(np.array(batch, np.int64)))
        taken.update(batch)
    probe_arr = np.array(probe + sorted(taken), np.int64)
    assert in_spans(spans, probe_arr).tolist() == [o in taken for o in probe_arr.tolist()]
    # canonical: sorted, disjoint and not adjacent, so consecutive deliveries stay one span
    assert all(a <= b and b + 1 < c for (a, b), (c, _) in pairwise(spans))
    assert sum(b - a + 1 for a, b in spans) == len(taken)


def test_in_order_batches_keep_one_span():
    spans: list[tuple[int, int]] = []
    for first in range(0, 1000, 100):
        spans = merge_spans(spans, offset_runs(np.arange(first, first + 100)))
    assert spans == [(0, 999)]


def test_a_record_roundtrips_its_spans_and_reads_the_old_highest_offset_form():
    h = NumericHistogram()
    h.update(np.array([1.0, 2.0]))
    rec = BucketRecord(60, {"input.x": h}, {0: [(0, 9), (15, 29)], 3: [(7, 7)]})
    back = BucketRecord.from_bytes(rec.to_bytes())
    assert back.applied == rec.applied and back.start == 60
    assert back.already_applied(0, 20) and not back.already_applied(0, 12)
    old = BucketRecord.from_bytes(pack_histograms({"s": 60, "a": [(0, 41)]}, {"input.x": h}))
    assert old.applied == {0: [(0, 41)]} and old.already_applied(0, 41)
    assert not old.already_applied(0, 42)


@given(st.lists(st.text(min_size=1, max_size=64), max_size=20))
def test_id_digests_are_blake2b_of_eight_bytes_whatever_the_batch(ids):
    # the stored id sets hold these hashes: changing them would let an event counted before an
    # upgrade be counted again after it
    assert id_digests(ids) == [hashlib.blake2b(i.encode(), digest_size=8).digest() for i in ids]


def test_id_hash_is_the_stored_form():
    got = id_hash("3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b")
    assert got == 0x889DF0C276F755EC
    assert id_digests(["3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b"]) == [got.to_bytes(8, "big")]
