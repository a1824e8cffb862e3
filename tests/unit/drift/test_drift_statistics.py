"""Known answers against scipy on the same binned data, and invariants of every statistic."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from drift import STATISTICS, CategoricalHistogram, DetectionPolicy, NumericHistogram
from drift.binning import regroup_numeric
from drift.statistics import Comparison, compute_all, smoothed
from drift.statistics.chi2_pvalue import chi2_pvalue
from drift.statistics.cosine_similarity import cosine_similarity
from drift.statistics.hellinger import hellinger
from drift.statistics.kl_divergence import kl_divergence
from drift.statistics.psi import psi

pytestmark = pytest.mark.unit


def tight(expected: float) -> object:
    """Known answers agree to floating-point accuracy."""
    return pytest.approx(expected, rel=1e-10, abs=1e-12)


def hist(x: np.ndarray) -> NumericHistogram:
    h = NumericHistogram()
    h.update(x)
    return h


@pytest.fixture(scope="module")
def comparison() -> Comparison:
    rng = np.random.default_rng(42)
    baseline, recent = hist(rng.normal(size=5000)), hist(rng.normal(0.3, 1.2, size=800))
    grouped = regroup_numeric(recent, baseline, 10)
    return Comparison.from_counts(grouped.recent, grouped.baseline, grouped.support)


def test_smoothing_is_additive_and_normalised() -> None:
    p = smoothed(np.array([0.0, 1.0, 3.0]), 0.5)
    assert p.tolist() == pytest.approx([0.5 / 5.5, 1.5 / 5.5, 3.5 / 5.5])
    assert smoothed(np.zeros(4), 0.0).tolist() == [0.25] * 4


def test_kl_matches_scipy_entropy(comparison: Comparison) -> None:
    expected = stats.entropy(comparison.recent, comparison.baseline)
    assert STATISTICS["kl_divergence"].compute(comparison) == tight(expected)


def test_psi_is_the_symmetrised_kl(comparison: Comparison) -> None:
    p, q = comparison.recent, comparison.baseline
    expected = stats.entropy(p, q) + stats.entropy(q, p)
    assert STATISTICS["psi"].compute(comparison) == tight(expected)


def test_js_distance_matches_scipy(comparison: Comparison) -> None:
    expected = distance.jensenshannon(comparison.recent, comparison.baseline)
    assert STATISTICS["js_distance"].compute(comparison) == tight(expected)


def test_cosine_matches_scipy(comparison: Comparison) -> None:
    expected = 1.0 - distance.cosine(comparison.recent, comparison.baseline)
    assert STATISTICS["cosine_similarity"].compute(comparison) == tight(expected)


def test_hellinger_matches_the_bhattacharyya_identity(comparison: Comparison) -> None:
    bc = float(np.sum(np.sqrt(comparison.recent * comparison.baseline)))
    assert STATISTICS["hellinger"].compute(comparison) == tight(math.sqrt(1 - bc))


def test_wasserstein_matches_scipy_scaled_by_baseline_std(comparison: Comparison) -> None:
    s = comparison.support
    assert s is not None
    w1 = stats.wasserstein_distance(s.values, s.values, s.recent, s.baseline)
    mean = np.average(s.values, weights=s.baseline)
    std = math.sqrt(np.average((s.values - mean) ** 2, weights=s.baseline))
    assert STATISTICS["wasserstein"].compute(comparison) == tight(w1 / std)


def test_ks_matches_scipy_ks_2samp_on_the_bucket_values(comparison: Comparison) -> None:
    s = comparison.support
    assert s is not None
    recent = np.repeat(s.values, s.recent.astype(int))
    baseline = np.repeat(s.values, s.baseline.astype(int))
    expected = stats.ks_2samp(recent, baseline).statistic
    assert STATISTICS["ks_statistic"].compute(comparison) == tight(expected)


def test_chi2_matches_scipy_chi2_contingency(comparison: Comparison) -> None:
    table = np.vstack([comparison.recent_counts, comparison.baseline_counts])
    expected = stats.chi2_contingency(table, correction=False).pvalue
    assert STATISTICS["chi2_pvalue"].compute(comparison) == pytest.approx(expected, rel=1e-9)
    assert 0.0 < expected < 0.01  # the fixture's shift is real, so the test is not vacuous


def test_chi2_drops_empty_bins_and_handles_degenerate_tables() -> None:
    u, v = np.array([10.0, 0.0, 5.0]), np.array([8.0, 0.0, 9.0])
    expected = stats.chi2_contingency(np.vstack([u[[0, 2]], v[[0, 2]]]), correction=False).pvalue
    assert chi2_pvalue(u, v) == pytest.approx(expected, rel=1e-12)
    assert chi2_pvalue(np.array([5.0, 0.0]), np.array([7.0, 0.0])) == 1.0
    assert chi2_pvalue(np.zeros(3), np.array([1.0, 2.0, 3.0])) == 1.0


def test_extreme_distributions_stay_finite_and_bounded() -> None:
    p, q = smoothed(np.array([1000.0, 0.0])), smoothed(np.array([0.0, 1000.0]))
    assert 5.0 < kl_divergence(p, q) < 10.0  # smoothing bounds KL (no smallest-float blow-up)
    assert 10.0 < psi(p, q) < 20.0
    assert hellinger(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)
    assert cosine_similarity(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == 0.0
    assert cosine_similarity(np.zeros(2), np.array([0.0, 1.0])) == 0.0


def test_categorical_comparisons_have_no_numeric_only_metrics() -> None:
    c = Comparison.from_counts(np.array([3.0, 4.0]), np.array([4.0, 3.0]))
    assert set(compute_all(c)) == {n for n, s in STATISTICS.items() if not s.numeric_only}
    with pytest.raises(ValueError, match="same"):
        Comparison.from_counts(np.array([1.0]), np.array([1.0, 2.0]))


def test_constant_baseline_gives_a_finite_wasserstein() -> None:
    from drift import evaluate_stream

    policy = DetectionPolicy(min_recent=1, min_baseline=1)
    same = evaluate_stream("s", hist(np.full(50, 5.0)), hist(np.full(50, 5.0)), policy)
    moved = evaluate_stream("s", hist(np.full(50, 6.0)), hist(np.full(50, 5.0)), policy)
    assert same.metrics["wasserstein"] == 0.0
    assert math.isfinite(moved.metrics["wasserstein"]) and moved.metrics["wasserstein"] > 1.0


samples = st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=80)


@settings(max_examples=30, deadline=None)
@given(samples)
def test_identical_inputs_give_zero_divergence(xs: list[float]) -> None:
    from drift import evaluate_stream

    h = hist(np.array(xs))
    m = evaluate_stream("s", h, h.copy(), DetectionPolicy(min_recent=1, min_baseline=1)).metrics
    assert m["kl_divergence"] == pytest.approx(0.0, abs=1e-12)
    assert m["cosine_similarity"] == pytest.approx(1.0, abs=1e-12)
    for name in ("psi", "js_distance", "hellinger", "wasserstein", "ks_statistic"):
        assert m[name] == pytest.approx(0.0, abs=1e-7), name
    assert m["chi2_pvalue"] == pytest.approx(1.0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from("abcd"), min_size=1, max_size=50))
def test_identical_categorical_inputs_give_zero_divergence(xs: list[str]) -> None:
    from drift import evaluate_stream

    h = CategoricalHistogram()
    h.update(xs)
    m = evaluate_stream("s", h, h.copy(), DetectionPolicy(min_recent=1, min_baseline=1)).metrics
    assert m["kl_divergence"] == pytest.approx(0.0, abs=1e-12)
    assert m["cosine_similarity"] == pytest.approx(1.0, abs=1e-12)
