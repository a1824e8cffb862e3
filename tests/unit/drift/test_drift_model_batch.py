"""A model measured in one pass (``measure_model``) against each stream alone
(``measure_model_each``, the former path): the same evaluations, every float bit for bit."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift import CategoricalHistogram, DetectionPolicy, NumericHistogram
from drift.binning import quantile_cuts
from drift.binning_many import count_rows, quantile_cuts_many
from drift.bins import Subwindows, counts_on, plan_for
from drift.calibration import CalibrationRequest, calibrate_many
from drift.evaluate import StreamWindows, decide, measure_model, measure_model_each
from drift.histogram import Histogram

CATEGORIES = np.array(["a", "b", "c", "d", "e"])


def same(a: Any, b: Any, path: str = "") -> None:
    """Deep equality, floats compared bit for bit (NaN equal to NaN)."""
    if isinstance(a, float) and isinstance(b, float):
        assert a == b or (math.isnan(a) and math.isnan(b)), (path, a, b)
        assert math.copysign(1.0, a) == math.copysign(1.0, b), (path, a, b)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, path
        assert np.array_equal(a, b, equal_nan=True), path
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for key in a:
            same(a[key], b[key], f"{path}.{key}")
    elif hasattr(a, "__dataclass_fields__"):
        assert type(a) is type(b), path
        for name in a.__dataclass_fields__:
            same(getattr(a, name), getattr(b, name), f"{path}.{name}")
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    else:
        assert a == b, (path, a, b)


def _numeric(rng: np.random.Generator, n: int, shift: float, style: str) -> NumericHistogram:
    h = NumericHistogram()
    if n == 0:
        return h
    if style == "integer":  # few distinct values, many ties: one bin per value
        values = rng.poisson(3.0 + abs(shift), n).astype(np.float64)  # shift: any normal draw
    elif style == "wide":  # both signs, a heavy tail
        values = rng.lognormal(shift, 2.0, n) * rng.choice([-1.0, 1.0], n)
    else:
        values = rng.normal(shift, 1.0 + abs(shift), n)
    values[rng.random(n) < 0.05] = np.nan  # missing values
    h.update(values)
    return h


def _categorical(rng: np.random.Generator, n: int, new: bool) -> CategoricalHistogram:
    h = CategoricalHistogram()
    names = CATEGORIES if new else CATEGORIES[:3]  # "d", "e": categories the baseline lacks
    values: list[str | None] = list(rng.choice(names, n))
    for i in range(0, n, 17):
        values[i] = None
    h.update(values)
    return h


def _stream(rng: np.random.Generator, kind: str, sizes: tuple[int, int]) -> list[Histogram]:
    """Recent, baseline, 4 sub-windows and 2 fresh parts of one stream."""
    n_recent, n_baseline = sizes
    if kind == "categorical":
        hists: list[Histogram] = [_categorical(rng, n_recent, True)]
        hists += [_categorical(rng, n_baseline, False)]
        hists += [_categorical(rng, n_recent, False) for _ in range(4)]
        hists += [_categorical(rng, n_recent // k, True) for k in (4, 2)]
        return hists
    shift = float(rng.normal(0.0, 0.3))
    out: list[Histogram] = [_numeric(rng, n_recent, shift, kind)]
    out += [_numeric(rng, n_baseline, 0.0, kind)]
    out += [_numeric(rng, n_recent, 0.0, kind) for _ in range(4)]
    out += [_numeric(rng, n_recent // k, shift, kind) for k in (4, 2)]
    return out


def _model(seed: int, kinds: list[str], sizes: list[tuple[int, int]], prepared: bool):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    inputs = []
    for i, (kind, n) in enumerate(zip(kinds, sizes, strict=True)):
        recent, baseline, *rest = _stream(rng, kind, n)
        subs = rest[:4]
        fresh = {"15m": rest[4], "30m": rest[5]}
        windows = Subwindows(subs) if prepared else subs
        inputs.append(StreamWindows(f"input.s{i}", recent, baseline, windows, fresh))
    return inputs


KINDS = st.sampled_from(["normal", "integer", "wide", "categorical"])
SIZES = st.tuples(st.sampled_from([0, 1, 20, 150, 600]), st.sampled_from([0, 3, 200, 2000, 6000]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    kinds=st.lists(KINDS, min_size=1, max_size=8),
    data=st.data(),
    rule=st.sampled_from(["calibrated", "fixed"]),
    smoothing=st.sampled_from([0.5, 1.0, 0.0]),
    prepared=st.booleans(),
)
def test_model_in_one_pass_equals_each_stream(
    seed: int, kinds: list[str], data: st.DataObject, rule: str, smoothing: float, prepared: bool
) -> None:
    sizes = data.draw(st.lists(SIZES, min_size=len(kinds), max_size=len(kinds)))
    policy = DetectionPolicy(rule=rule, smoothing=smoothing, min_recent=30, min_baseline=100)
    with np.errstate(divide="ignore", invalid="ignore"):  # zero smoothing: the modules' edges
        got = decide(measure_model(_model(seed, kinds, sizes, prepared), policy), policy)
        want = decide(measure_model_each(_model(seed, kinds, sizes, prepared), policy), policy)
    same(got, want)


def test_a_bench_sized_model_is_unchanged() -> None:
    """16 numeric and 4 categorical streams of realistic size, calibrated, twice in a row (the
    second time from the cached nulls)."""
    kinds = ["normal"] * 8 + ["wide"] * 4 + ["integer"] * 4 + ["categorical"] * 4
    sizes = [(3600, 86_400)] * len(kinds)
    policy = DetectionPolicy()
    got_inputs, want_inputs = _model(7, kinds, sizes, True), _model(7, kinds, sizes, True)
    for _ in range(2):
        got = decide(measure_model(got_inputs, policy), policy)
        want = decide(measure_model_each(want_inputs, policy), policy)
        same(got, want)
    assert any(e.p_value is not None for e in got)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ordered=st.booleans(), empty=st.integers(0, 3))
def test_prepared_nonempty_subwindows_calibrate_the_same(
    seed: int, ordered: bool, empty: int
) -> None:
    """A request given the sub-windows' non-empty rows and their least total (``Subwindows``
    keeps them) calibrates as one given all rows."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 12))
    subs = rng.poisson(rng.uniform(1, 40), (6, k)).astype(np.float64)
    subs[:empty] = 0.0
    recent = rng.poisson(20, k).astype(np.float64) + 1.0
    baseline = subs.sum(0) + rng.poisson(50, k) + 1.0
    fresh = {"15m": np.floor(recent / 3), "30m": np.floor(recent / 2)}
    full = CalibrationRequest(recent, baseline, subs, ordered, fresh, min_fresh=3.0)
    rows = subs[subs.sum(1) > 0]
    smallest = float(rows.sum(1).min()) if len(rows) else math.inf
    kept = dataclasses.replace(full, subs=rows, smallest_sub=smallest)
    same(calibrate_many([kept]), calibrate_many([full]))


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    streams=st.integers(1, 6),
    n_bins=st.sampled_from([2, 3, 7, 10, 33]),
    scale=st.sampled_from([1, 3, 1000, 10**9]),
)
def test_quantile_cuts_of_many_streams_are_each_streams(
    seed: int, streams: int, n_bins: int, scale: int
) -> None:
    rng = np.random.default_rng(seed)
    counts = [rng.integers(1, scale + 1, int(rng.integers(1, 40))) for _ in range(streams)]
    got = quantile_cuts_many(counts, n_bins)
    for c, cuts in zip(counts, got, strict=True):
        want = quantile_cuts(np.arange(c.size, dtype=np.int64), c, n_bins)
        assert cuts.dtype == want.dtype and np.array_equal(cuts, want)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), streams=st.integers(1, 5))
def test_counts_of_many_streams_are_each_streams(seed: int, streams: int) -> None:
    """Rows on quantile and on per-value bins, empty rows and values beyond the bins."""
    rng = np.random.default_rng(seed)
    styles = [str(rng.choice(["normal", "integer", "wide"])) for _ in range(streams)]
    hists = [
        [_numeric(rng, n, float(rng.normal()), style) for n in (int(rng.choice([0, 5, 300])), 900)]
        + [_numeric(rng, 40, 3.0, "wide")]
        for style in styles
    ]
    plans = [plan_for(h[1], 10, 64) for h in hists]
    cuts = [p.cuts for p in plans if p.cuts is not None]
    got = count_rows(cuts, [[x.raw_buckets() for x in h] for h in hists])
    for plan, h, matrix in zip(plans, hists, got, strict=True):
        assert np.array_equal(matrix, counts_on(plan, h))
