"""Calibrated verdicts: test statistics against scipy, calibration on known nulls, FDR, bins."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from drift import CategoricalHistogram, DetectionPolicy, NumericHistogram, evaluate_stream
from drift.bins import counts_on, plan_for, pool_columns
from drift.calibration import CalibrationRequest, calibrate, calibrate_many
from drift.evaluate import StreamWindows, decide, measure_model, measure_stream
from drift.significance import benjamini_hochberg, cauchy_combination
from drift.table_tests import table_tests

pytestmark = pytest.mark.unit


def numeric(values) -> NumericHistogram:
    h = NumericHistogram()
    h.update(np.asarray(values, float))
    return h


def categorical(values) -> CategoricalHistogram:
    h = CategoricalHistogram()
    h.update(list(values))
    return h


def test_g_statistic_equals_scipy_log_likelihood_ratio():
    a = np.array([[30.0, 50.0, 20.0, 7.0]])
    b = np.array([[300.0, 420.0, 260.0, 90.0]])
    tt = table_tests(a, b)
    g, _p, dof, _ = stats.chi2_contingency(np.vstack([a, b]), lambda_="log-likelihood")
    assert tt.g[0] == pytest.approx(g, rel=1e-9)
    assert tt.df[0] == dof


def test_trend_z_equals_mann_whitney_on_tied_bins():
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 6, 400), rng.integers(0, 6, 900) + (rng.random(900) < 0.1)
    a = np.bincount(x, minlength=7)[None, :].astype(float)
    b = np.bincount(y, minlength=7)[None, :].astype(float)
    tt = table_tests(a, b)
    res = stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=False)
    assert abs(tt.z_trend[0]) == pytest.approx(abs(stats.norm.isf(res.pvalue / 2)), rel=1e-6)
    assert tt.auc[0] == pytest.approx(res.statistic / (x.size * y.size), rel=1e-9)


def test_p_values_are_calibrated_under_multinomial_sampling():
    rng = np.random.default_rng(11)
    shares = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
    ps = []
    for _ in range(600):
        base = rng.multinomial(6000, shares).astype(float)
        subs = np.array([rng.multinomial(250, shares) for _ in range(24)], float)
        recent = rng.multinomial(250, shares).astype(float)
        ps.append(calibrate(recent, base, subs, ordered=True).p_value)
    ps = np.array(ps)
    assert 0.01 <= (ps < 0.05).mean() <= 0.07  # ~uniform: not liberal, not useless
    assert (ps < 0.01).mean() <= 0.015


def test_between_subwindow_variation_widens_the_null():
    """A daily rhythm seen in the baseline's hours is not drift; the same difference with a
    calm baseline is."""
    rng = np.random.default_rng(5)
    hours = [numeric(rng.normal(0.2 * np.sin(2 * np.pi * h / 24), 1, 10_000)) for h in range(24)]
    calm = [numeric(rng.normal(0, 1, 10_000)) for _ in range(24)]
    peak = numeric(rng.normal(0.2, 1, 10_000))
    policy = DetectionPolicy()

    def total(hs):
        t = hs[0].copy()
        for h in hs[1:]:
            t += h
        return t

    rhythm = evaluate_stream("x", peak, total(hours), policy, hours)
    plain = evaluate_stream("x", peak, total(calm), policy, calm)
    assert rhythm.status == "ok" and rhythm.calibration.window.phi > 5
    assert plain.status == "drift" and plain.calibration.window.phi < 1.5


def test_fresh_part_of_recent_catches_a_sudden_shift_first():
    rng = np.random.default_rng(2)
    subs = [numeric(rng.normal(0, 1, 1000)) for _ in range(24)]
    base = subs[0].copy()
    for h in subs[1:]:
        base += h
    fresh = numeric(rng.normal(0.5, 1, 250))  # the last 15 min of an hour: shifted
    recent = numeric(rng.normal(0, 1, 750))
    recent += fresh
    with_fresh = evaluate_stream("x", recent, base, DetectionPolicy(), subs, {"15m": fresh})
    without = evaluate_stream("x", recent, base, DetectionPolicy(), subs)
    assert with_fresh.status == "drift" and with_fresh.test.endswith("@15m")
    assert with_fresh.p_value < without.p_value


def test_benjamini_hochberg_known_answers():
    q, cut = benjamini_hochberg([0.01, 0.02, 0.03, 0.04, 0.05], 0.05)
    assert cut == pytest.approx(0.05) and np.allclose(q, 0.05)
    q, cut = benjamini_hochberg([0.001, 0.2, 0.3], 0.01)
    assert cut == pytest.approx(0.01 / 3)
    assert q.tolist() == pytest.approx([0.003, 0.3, 0.3])
    _, cut = benjamini_hochberg([0.5, 0.6], 0.01)
    assert cut == pytest.approx(0.005)  # nothing rejected: the cut the smallest would need


def test_fdr_across_streams_needs_more_evidence_with_more_streams():
    rng = np.random.default_rng(8)
    base = numeric(rng.normal(0, 1, 20_000))
    subs: list = []
    moved = measure_stream("input.x", numeric(rng.normal(0.12, 1, 1000)), base, DetectionPolicy())
    calm = [
        measure_stream(
            f"input.c{i}", numeric(rng.normal(0, 1, 1000)), base, DetectionPolicy(), subs
        )
        for i in range(40)
    ]
    alone = decide([moved], DetectionPolicy(fdr=0.01))[0]
    among = decide([moved, *calm], DetectionPolicy(fdr=0.01))[0]
    assert alone.p_value == among.p_value
    assert among.limit > alone.limit  # a stricter cut-off among 41 streams


def test_cauchy_combination():
    assert cauchy_combination([0.5, 0.5]) == pytest.approx(0.5)
    assert cauchy_combination([1e-6, 0.5, 0.5, 0.5]) == pytest.approx(4e-6, rel=0.01)
    assert cauchy_combination([1e-6] * 4) == pytest.approx(1e-6, rel=0.01)
    assert cauchy_combination([1e-30, 0.9]) == pytest.approx(2e-30, rel=0.01)


def test_few_distinct_values_are_compared_per_value():
    rng = np.random.default_rng(1)
    base = numeric(rng.poisson(3, 5000))
    plan = plan_for(base, n_bins=10, per_value_max=64)
    assert plan.per_value and plan.size == base.buckets()[0].size
    cont = plan_for(numeric(rng.normal(0, 1, 5000)), n_bins=10, per_value_max=64)
    assert not cont.per_value and cont.size == 10
    # the quantile bins would merge 0,1,2 and 5,6,...; per value a change among them shows
    moved = numeric(np.concatenate([rng.poisson(3, 900), np.full(100, 6.0)]))
    rows = counts_on(plan, [moved, base])
    assert rows.shape == (2, plan.size) and rows[0].sum() == 1000


def test_rare_categories_are_pooled_to_the_minimum_expected_count():
    rng = np.random.default_rng(4)
    zipf = (1 / np.arange(1, 51)) / (1 / np.arange(1, 51)).sum()
    names = np.array([f"c{i}" for i in range(50)])
    base = categorical(rng.choice(names, 6000, p=zipf))
    plan = plan_for(base, 10, 64)
    counts = counts_on(plan, [base])[0]
    group = pool_columns(counts, 250, ordered=False, min_expected=5)
    expected = np.bincount(group, weights=counts) * 250 / counts.sum()
    assert expected.min() >= 5 and group.max() + 1 < 50


def test_calm_zipf_categories_at_low_traffic_are_not_drift():
    rng = np.random.default_rng(9)
    zipf = (1 / np.arange(1, 51)) / (1 / np.arange(1, 51)).sum()
    names = np.array([f"c{i}" for i in range(50)])
    subs = [categorical(rng.choice(names, 250, p=zipf)) for _ in range(24)]
    base = subs[0].copy()
    for h in subs[1:]:
        base += h
    verdicts = [
        evaluate_stream(
            "c",
            categorical(rng.choice(names, 250, p=zipf)),
            base,
            DetectionPolicy(min_recent=100, min_baseline=1000),
            subs,
        ).status
        for _ in range(50)
    ]
    assert verdicts.count("drift") == 0


def test_new_categories_are_reported():
    base = categorical(["a"] * 500 + ["b"] * 500)
    recent = categorical(["a"] * 200 + ["b"] * 150 + ["z"] * 50)
    ev = evaluate_stream("c", recent, base, DetectionPolicy(min_recent=10, min_baseline=10))
    assert ev.new_categories == 50 and ev.new_share == pytest.approx(50 / 400)
    assert ev.status == "drift"


def test_fixed_rule_keeps_the_seed_limits():
    rng = np.random.default_rng(0)
    base, recent = numeric(rng.normal(0, 1, 5000)), numeric(rng.normal(2, 1, 500))
    ev = evaluate_stream("x", recent, base, DetectionPolicy(rule="fixed"))
    assert ev.rule == "fixed" and ev.status == "drift"
    assert ev.limits["kl_divergence"] == 0.1 and ev.limits["cosine_similarity"] == 0.9
    assert "kl_divergence" in ev.drifted_metrics and ev.score > ev.limit == 1.0


def test_calibrated_limits_are_consistent_with_the_decision():
    rng = np.random.default_rng(6)
    subs = [numeric(rng.normal(0, 1, 400)) for _ in range(24)]
    base = subs[0].copy()
    for h in subs[1:]:
        base += h
    for shift in (0.0, 0.4):
        ev = evaluate_stream("x", numeric(rng.normal(shift, 1, 400)), base, DetectionPolicy(), subs)
        assert (ev.status == "drift") == (ev.score >= ev.limit)
        assert ev.limits["kl_divergence"] > 0 and ev.limits["cosine_similarity"] is None
        assert ev.null_center >= ev.calibration.window.df


def test_a_model_calibrated_at_once_equals_each_stream_alone():
    """``calibrate_many`` pads every stream of a kind to one table: an empty column must change
    no test, so each stream's verdict is the one it gets alone, whatever its neighbours."""
    rng = np.random.default_rng(11)
    requests = []
    for i in range(24):
        k = int(rng.integers(2, 40))  # widths differ: the narrow ones are padded
        p = rng.dirichlet(np.ones(k))
        base = rng.multinomial(int(rng.integers(2_000, 50_000)), p).astype(float)
        n_subs = int(rng.integers(0, 25))
        subs = np.array(
            [
                rng.multinomial(int(base.sum() / 24), rng.dirichlet(p * 200 + 0.01))
                for _ in range(n_subs)
            ],
            float,
        ).reshape(-1, k)
        recent = rng.multinomial(int(rng.integers(50, 5_000)), rng.dirichlet(p * 300 + 0.01))
        fresh = {"15m": rng.multinomial(int(recent.sum() / 4), p).astype(float)}
        requests.append(CalibrationRequest(recent.astype(float), base, subs, bool(i % 3), fresh))
    together = calibrate_many(requests)
    for req, cal in zip(requests, together, strict=True):
        alone = calibrate(req.recent, req.baseline, req.subs, req.ordered, req.fresh)
        assert cal.test == alone.test
        assert cal.components == pytest.approx(alone.components, rel=1e-12, abs=1e-300)
        assert cal.p_value == pytest.approx(alone.p_value, rel=1e-12, abs=1e-300)
        assert cal.effect == pytest.approx(alone.effect, rel=1e-12)
    assert {c.test.split("@")[0] for c in together} >= {"trend", "omnibus"}  # both kinds judged


def test_measure_model_equals_measuring_each_stream():
    rng = np.random.default_rng(5)
    policy = DetectionPolicy()
    inputs = [
        StreamWindows(
            "input.x", numeric(rng.normal(0.3, 1, 800)), numeric(rng.normal(0, 1, 20_000))
        ),
        StreamWindows(
            "input.age", numeric(rng.integers(18, 90, 800)), numeric(rng.integers(18, 90, 20_000))
        ),
        StreamWindows(
            "input.c",
            categorical(rng.choice(list("abc"), 800, p=[0.4, 0.3, 0.3])),
            categorical(rng.choice(list("abc"), 20_000)),
        ),
        StreamWindows(
            "input.few", numeric(rng.normal(0, 1, 20)), numeric(rng.normal(0, 1, 20_000))
        ),
    ]
    together = measure_model(inputs, policy)
    for inp, ev in zip(inputs, together, strict=True):
        alone = measure_stream(inp.stream, inp.recent, inp.baseline, policy)
        assert (ev.status, ev.test) == (alone.status, alone.test)
        if alone.p_value is None:
            assert ev.p_value is None
        else:
            assert ev.p_value == pytest.approx(alone.p_value, rel=1e-12)
    assert together[3].status == "insufficient_data" and together[3].p_value is None
    assert together[0].p_value is not None and together[0].p_value < 1e-6  # the shifted one
