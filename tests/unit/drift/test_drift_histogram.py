"""Numeric and categorical histograms: counting, merge laws, serialisation."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift import (
    CategoricalHistogram,
    NumericHistogram,
    histogram_from_bytes,
)
from drift.mapping import LogMapping

pytestmark = pytest.mark.unit
SETTINGS = settings(max_examples=40, deadline=None)

values = st.lists(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(min_value=-1e6, max_value=1e6),
        st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-320, 5e-324]),
    ),
    max_size=60,
)
categories = st.lists(st.one_of(st.none(), st.sampled_from("abcdefgh")), max_size=60)


def numeric(xs: list[float]) -> NumericHistogram:
    h = NumericHistogram()
    h.update(np.array(xs, dtype=np.float64))
    return h


def categorical(xs: Sequence[str | None], cap: int = 100) -> CategoricalHistogram:
    h = CategoricalHistogram(cap)
    h.update(xs)
    return h


def test_counts_valid_and_missing_values() -> None:
    h = NumericHistogram()
    h.update(np.array([1.0, np.nan, np.inf, -np.inf, 0.0, -3.5]))
    h.update([None, 2.0])
    assert (h.count, h.missing) == (4, 4)
    keys, counts = h.buckets()
    assert counts.sum() == 4 and 0 in keys and (np.diff(keys) > 0).all()


def test_every_value_is_within_the_relative_accuracy_of_its_representative() -> None:
    mapping = LogMapping(0.01)
    x = np.concatenate([np.geomspace(1e-200, 1e200, 5001), -np.geomspace(1e-9, 1e9, 501)])
    reps = mapping.representatives(mapping.keys(x))
    assert np.max(np.abs(reps - x) / np.abs(x)) <= 0.01 + 1e-12


def test_keys_are_monotone_in_the_value() -> None:
    x = np.sort(np.random.default_rng(3).standard_cauchy(20_000))
    keys = LogMapping(0.02).keys(x)
    assert (np.diff(keys) >= 0).all() and keys[0] < 0 < keys[-1]


def test_tiny_magnitudes_share_the_zero_bucket() -> None:
    h = numeric([0.0, -0.0, 1e-310, -1e-310])
    keys, counts = h.buckets()
    assert keys.tolist() == [0] and counts.tolist() == [4]


@SETTINGS
@given(values)
def test_bucket_boundaries_do_not_depend_on_the_data(xs: list[float]) -> None:
    whole = numeric(xs)
    one_by_one = NumericHistogram()
    for x in xs:
        one_by_one += numeric([x])
    assert whole == one_by_one


@SETTINGS
@given(values, values, values)
def test_numeric_merge_is_associative_and_commutative(a: list, b: list, c: list) -> None:
    ha, hb, hc = numeric(a), numeric(b), numeric(c)
    assert (ha + hb) + hc == ha + (hb + hc) == numeric(a + b + c)
    assert ha + hb == hb + ha


@SETTINGS
@given(values, values)
def test_numeric_merge_then_subtract_is_the_identity(a: list, b: list) -> None:
    ha, hb = numeric(a), numeric(b)
    assert (ha + hb) - hb == ha
    running = ha.copy()
    running += hb
    running -= hb
    assert running == ha and (ha - ha).is_empty


def test_subtracting_what_was_never_added_raises() -> None:
    with pytest.raises(ValueError, match="not contained"):
        _ = numeric([1.0]) - numeric([2.0])
    with pytest.raises(ValueError, match="not contained"):
        _ = numeric([1.0]) - numeric([np.nan])
    with pytest.raises(ValueError, match="different bucket mappings"):
        _ = NumericHistogram(0.01) + NumericHistogram(0.02)
    with pytest.raises(TypeError):
        _ = NumericHistogram() + CategoricalHistogram()


@SETTINGS
@given(values)
def test_numeric_serialisation_round_trips(xs: list[float]) -> None:
    h = numeric(xs)
    data = h.to_bytes()
    assert histogram_from_bytes(data) == h == NumericHistogram.from_bytes(data)
    assert len(data) == 31 + 8 * h.buckets()[0].size


def test_serialisation_widens_counts_beyond_32_bits() -> None:
    h = numeric([1.0])
    for _ in range(33):
        h += h.copy()
    assert h.count == 2**33
    assert histogram_from_bytes(h.to_bytes()).count == 2**33


@pytest.mark.parametrize("data", [b"", b"N", b"X123", b"C\x01{not json", b"C\x01[]"])
def test_corrupt_bytes_raise_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        histogram_from_bytes(data)


def test_truncated_numeric_bytes_raise() -> None:
    with pytest.raises(ValueError, match="bytes"):
        histogram_from_bytes(numeric([1.0, 2.0, 3.0]).to_bytes()[:-1])


def test_categorical_counts_missing_and_caps_distinct_values() -> None:
    h = categorical(["a", "b", None, "a", "c", "d"], cap=2)
    assert (h.count, h.missing) == (5, 1)
    assert h.counts() == {"a": 2, "b": 1, "__other__": 2}  # ties go to the smaller name


def test_categorical_merge_over_the_cap_keeps_the_most_frequent() -> None:
    merged = categorical(["x"] * 5 + ["y"], cap=2) + categorical(["z"] * 3, cap=2)
    assert merged.counts() == {"x": 5, "z": 3, "__other__": 1}
    back = merged - categorical(["y"], cap=2)  # folded value comes out of __other__
    assert back.counts() == {"x": 5, "z": 3}


@SETTINGS
@given(categories, categories, categories)
def test_categorical_merge_laws(a: list, b: list, c: list) -> None:
    ha, hb, hc = categorical(a), categorical(b), categorical(c)
    assert (ha + hb) + hc == ha + (hb + hc) == categorical(a + b + c)
    assert ha + hb == hb + ha
    assert (ha + hb) - hb == ha


@SETTINGS
@given(categories)
def test_categorical_serialisation_round_trips(xs: list) -> None:
    h = categorical(xs, cap=3)
    assert histogram_from_bytes(h.to_bytes()) == h


def test_histogram_update_is_vectorised_for_large_batches() -> None:
    x = np.random.default_rng(0).normal(size=200_000)
    h = NumericHistogram(relative_accuracy=0.05)
    h.update(x)
    keys, counts = h.buckets()
    assert h.count == 200_000 and counts.sum() == 200_000
    reps = h.mapping.representatives(keys)
    assert math.isclose(float(np.dot(reps, counts)) / h.count, float(x.mean()), abs_tol=0.01)


def test_from_bytes_rejects_unsorted_keys_and_zero_counts() -> None:
    data = bytearray(numeric([1.0, 2.0]).to_bytes())
    keys = np.frombuffer(bytes(data[31:39]), "<i4")
    swapped = bytes(data[:31]) + keys[::-1].tobytes() + bytes(data[39:])
    with pytest.raises(ValueError, match="increasing"):
        NumericHistogram.from_bytes(swapped)
    zero = bytes(data[:39]) + np.zeros(2, "<u4").tobytes()
    with pytest.raises(ValueError, match="positive"):
        NumericHistogram.from_bytes(zero)
