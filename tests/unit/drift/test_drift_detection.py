"""Detection on realistic samples: no false alarm, a 0.6 sigma shift detected, monotone scores."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift import (
    DEFAULT_THRESHOLDS,
    CategoricalHistogram,
    DetectionPolicy,
    NumericHistogram,
    evaluate_stream,
)

pytestmark = pytest.mark.unit
POLICY = DetectionPolicy()
RNG_SEEDS = (1, 2, 3)


def hist(x: np.ndarray) -> NumericHistogram:
    h = NumericHistogram()
    h.update(x)
    return h


def draw(kind: str, seed: int, n: int = 10_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return rng.normal(5.0, 2.0, n)
    if kind == "lognormal":
        return rng.lognormal(0.0, 1.0, n)
    return rng.integers(0, 4, n).astype(float)  # few distinct values: heavy buckets


@pytest.mark.parametrize("seed", RNG_SEEDS)
@pytest.mark.parametrize("kind", ["normal", "lognormal", "discrete"])
def test_same_distribution_stays_well_inside_every_threshold(kind: str, seed: int) -> None:
    e = evaluate_stream("input.x", hist(draw(kind, seed)), hist(draw(kind, seed + 100)), POLICY)
    assert e.status == "ok" and e.drifted_metrics == ()
    for name, value in e.metrics.items():
        limit = DEFAULT_THRESHOLDS.limit(name)
        if name == "cosine_similarity":
            assert value > 0.99
        elif limit is not None:
            assert value < limit / 2, (name, value)
    assert e.metrics["chi2_pvalue"] > 0.001


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_same_categorical_distribution_stays_ok(seed: int) -> None:
    rng = np.random.default_rng(seed)
    names = np.array(["a", "b", "c", "d", "e"])
    recent, baseline = CategoricalHistogram(), CategoricalHistogram()
    p = [0.4, 0.3, 0.15, 0.1, 0.05]
    recent.update(list(rng.choice(names, 10_000, p=p)))
    baseline.update(list(rng.choice(names, 10_000, p=p)))
    e = evaluate_stream("input.c", recent, baseline, POLICY)
    assert e.status == "ok" and e.metrics["kl_divergence"] < 0.01
    assert e.bins is not None and e.bins.labels[0] == "a"


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_a_0_6_sigma_mean_shift_crosses_kl_and_psi(seed: int) -> None:
    rng = np.random.default_rng(seed)
    e = evaluate_stream(
        "input.x", hist(rng.normal(0.6, 1.0, 10_000)), hist(rng.normal(0.0, 1.0, 10_000)), POLICY
    )
    assert e.status == "drift"
    assert {"kl_divergence", "psi"} <= set(e.drifted_metrics)
    assert e.metrics["kl_divergence"] > 0.1 and e.metrics["psi"] > 0.2


def test_categorical_shift_and_new_missing_values_drift() -> None:
    recent, baseline = CategoricalHistogram(), CategoricalHistogram()
    baseline.update(["a"] * 600 + ["b"] * 400)
    recent.update(["a"] * 100 + ["b"] * 100 + [None] * 300)
    e = evaluate_stream("input.c", recent, baseline, POLICY)
    assert e.status == "drift" and e.bins is not None
    assert e.bins.labels == ("a", "b", "__missing__")
    assert e.bins.recent == pytest.approx((0.2, 0.2, 0.6))


@pytest.mark.parametrize(("n_recent", "n_baseline"), [(99, 10_000), (10_000, 499), (0, 10_000)])
def test_small_samples_are_insufficient_data_even_when_shifted(
    n_recent: int, n_baseline: int
) -> None:
    rng = np.random.default_rng(7)
    e = evaluate_stream(
        "input.x", hist(rng.normal(3, 1, n_recent)), hist(rng.normal(0, 1, n_baseline)), POLICY
    )
    assert e.status == "insufficient_data" and e.drifted_metrics == ()
    assert (e.recent_count, e.baseline_count) == (n_recent, n_baseline)
    if n_recent:  # metrics are still reported for display
        assert e.metrics["kl_divergence"] > 1.0


def test_baseline_quantile_bins_are_balanced_and_outliers_land_in_edge_bins() -> None:
    rng = np.random.default_rng(11)
    baseline = hist(rng.normal(size=20_000))
    recent = hist(np.array([-50.0, -40.0, 0.0, 40.0, 50.0, 60.0]))
    e = evaluate_stream("s", recent, baseline, DetectionPolicy(min_recent=1, n_bins=8))
    assert e.bins is not None and len(e.bins.labels) == 8
    assert all(abs(share - 1 / 8) < 0.01 for share in e.bins.baseline)
    assert e.bins.recent[0] == pytest.approx(2 / 6) and e.bins.recent[-1] == pytest.approx(3 / 6)


def test_regrouping_is_exact_against_the_raw_values() -> None:
    from drift.binning import regroup_numeric

    rng = np.random.default_rng(5)
    base_raw, recent_raw = rng.gamma(2.0, 3.0, 30_000), rng.gamma(2.2, 3.0, 5_000)
    baseline, recent = hist(base_raw), hist(recent_raw)
    grouped = regroup_numeric(recent, baseline, 10)
    assert grouped.edges is not None and grouped.edges.size == 9
    for raw, counts in ((base_raw, grouped.baseline), (recent_raw, grouped.recent)):
        direct = np.bincount(np.searchsorted(grouped.edges, raw, side="left"), minlength=10)
        assert direct.tolist() == counts.tolist()
    assert grouped.recent.sum() == 5_000 and grouped.baseline.sum() == 30_000


shifts = st.tuples(st.floats(0.0, 1.75), st.floats(0.25, 1.0))


@settings(max_examples=25, deadline=None)
@given(shifts)
def test_a_larger_shift_gives_a_larger_score(shift_and_gap: tuple[float, float]) -> None:
    small, gap = shift_and_gap
    rng = np.random.default_rng(0)
    baseline, sample = hist(rng.normal(size=5000)), rng.normal(size=2000)
    policy = DetectionPolicy(min_recent=1, min_baseline=1)
    a = evaluate_stream("s", hist(sample + small), baseline, policy).metrics
    b = evaluate_stream("s", hist(sample + small + gap), baseline, policy).metrics
    for name in ("kl_divergence", "psi", "js_distance", "hellinger", "wasserstein", "ks_statistic"):
        assert b[name] > a[name], name
    assert b["cosine_similarity"] < a["cosine_similarity"]
