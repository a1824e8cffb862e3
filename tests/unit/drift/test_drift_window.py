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


class EagerSums:
    """The window sums as they were computed before the lazy fold: one merge per operation."""

    def __init__(self) -> None:
        self.sides: dict[str, dict[str, Histogram]] = {"recent": {}, "baseline": {}}

    def apply(self, side: str, bucket: dict[str, Histogram], sign: int) -> None:
        """All of ``bucket`` or, when a part raises, nothing of it."""
        sums = {stream: h.copy() for stream, h in self.sides[side].items()}
        for stream, h in bucket.items():
            held = sums.get(stream)
            same = held is not None and type(held) is type(h)
            if isinstance(held, NumericHistogram) and isinstance(h, NumericHistogram):
                same = held.mapping == h.mapping
            if sign > 0:
                if held is None:
                    sums[stream] = h.copy()
                elif same:
                    held += h
            elif same:
                assert held is not None
                held -= h
                if held.is_empty:
                    del sums[stream]
        self.sides[side] = sums


def random_bucket(rng: np.random.Generator) -> dict[str, Histogram]:
    out: dict[str, Histogram] = {}
    for stream in ("input.a", "input.b", "input.c"):
        kind = rng.integers(0, 6)
        if kind == 0:
            continue  # the bucket lacks the stream
        if kind == 5:  # a conflicting kind now and then
            c = CategoricalHistogram(3)
            c.update(list(rng.choice(["p", "q", "r", "s", None], rng.integers(1, 20))))
            out[stream] = c
        else:
            h = NumericHistogram(0.05 if kind == 4 else 0.01)
            values = rng.normal(0, 1, rng.integers(0, 30))
            h.update(np.where(rng.random(values.size) < 0.1, np.nan, values))
            out[stream] = h
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 200))
def test_lazy_sums_equal_eager_ones_after_any_sequence(seed: int, steps: int) -> None:
    """Adds and removes (only of what was added, as the worker does) on both sides, with reads
    at random points and queues long enough to fold on their own: every read equals the eager
    sums, histogram for histogram (categorical caps and conflicting kinds included)."""
    rng = np.random.default_rng(seed)
    lazy, eager = WindowSums(), EagerSums()
    added: dict[str, list[dict[str, Histogram]]] = {"recent": [], "baseline": []}
    for _ in range(steps):
        side = "recent" if rng.random() < 0.5 else "baseline"
        if added[side] and rng.random() < 0.3:
            bucket = added[side].pop(int(rng.integers(len(added[side]))))
            sign = -1
        else:
            bucket, sign = random_bucket(rng), 1
            added[side].append(bucket)
        try:
            eager.apply(side, bucket, sign)
        except ValueError:  # a part ignored when added (another kind) is compatible now:
            break  # a sequence the worker never makes (a stream keeps its kind)
        getattr(lazy, ("add_to_" if sign > 0 else "remove_from_") + side)(bucket)
        if rng.random() < 0.1:
            stream = str(rng.choice(["input.a", "input.b", "input.c"]))
            held = eager.sides["recent"].get(stream) or eager.sides["baseline"].get(stream)
            if held is not None and stream in eager.sides["recent"]:
                assert lazy.recent(stream) == eager.sides["recent"][stream]
    streams = sorted(eager.sides["recent"].keys() | eager.sides["baseline"].keys())
    assert lazy.streams() == streams
    for stream in streams:
        for side, read in (("recent", lazy.recent), ("baseline", lazy.baseline)):
            want = eager.sides[side].get(stream)
            got = read(stream)
            assert got == want if want is not None else got.is_empty
