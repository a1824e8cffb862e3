"""Running window sums: sliding buckets keep exactly the sum of the buckets in the window."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift import (
    CategoricalHistogram,
    DetectionPolicy,
    Histogram,
    NumericHistogram,
    WindowSums,
    evaluate_stream,
)

pytestmark = pytest.mark.unit


def bucket(seed: int, shift: float = 0.0) -> dict[str, Histogram]:
    rng = np.random.default_rng(seed)
    x, c = NumericHistogram(), CategoricalHistogram()
    x.update(rng.normal(shift, 1.0, 50))
    c.update(list(rng.choice(["a", "b", "c"], 50)))
    return {"input.x": x, "input.c": c}


def total(buckets: list[dict[str, Histogram]], stream: str) -> Histogram:
    result = buckets[0][stream].copy()
    for b in buckets[1:]:
        result += b[stream]
    return result


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 4), st.integers(2, 8), st.integers(10, 20))
def test_sliding_the_window_equals_summing_its_buckets(
    recent_n: int, base_n: int, steps: int
) -> None:
    buckets = [bucket(i) for i in range(steps)]
    sums = WindowSums()
    for t, b in enumerate(buckets):
        sums.add_to_recent(b)
        if t >= recent_n:  # ages out of recent into the baseline
            sums.remove_from_recent(buckets[t - recent_n])
            sums.add_to_baseline(buckets[t - recent_n])
        if t >= recent_n + base_n:
            sums.remove_from_baseline(buckets[t - recent_n - base_n])
    recent = buckets[steps - recent_n :]
    baseline = buckets[max(0, steps - recent_n - base_n) : steps - recent_n]
    for stream in ("input.x", "input.c"):
        assert sums.recent(stream) == total(recent, stream)
        assert sums.baseline(stream) == total(baseline, stream)
    assert sums.streams() == ["input.c", "input.x"]


def test_missing_side_is_an_empty_histogram_of_the_right_kind() -> None:
    sums = WindowSums()
    sums.add_to_baseline(bucket(1))
    recent = sums.recent("input.x")
    assert isinstance(recent, NumericHistogram) and recent.is_empty
    e = evaluate_stream("input.x", recent, sums.baseline("input.x"), DetectionPolicy())
    assert e.status == "insufficient_data" and e.recent_count == 0
    with pytest.raises(KeyError):
        sums.recent("input.nope")


def test_emptied_streams_disappear_and_returned_sums_are_copies() -> None:
    sums, b = WindowSums(), bucket(2)
    sums.add_to_recent(b)
    held = sums.recent("input.x")
    held += b["input.x"]
    assert sums.recent("input.x") == b["input.x"]
    sums.remove_from_recent(b)
    assert sums.streams() == []


def test_a_conflicting_kind_is_ignored_on_add_and_remove() -> None:
    sums = WindowSums()
    sums.add_to_recent(bucket(3))
    odd = CategoricalHistogram()
    odd.update(["z"])
    sums.add_to_recent({"input.x": odd})
    sums.remove_from_recent({"input.x": odd})
    assert sums.recent("input.x") == bucket(3)["input.x"]
