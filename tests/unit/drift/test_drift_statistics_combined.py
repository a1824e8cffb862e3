"""The one-pass ``compute_all`` against the registry's statistics one by one: equal values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from drift import CategoricalHistogram, DetectionPolicy, NumericHistogram
from drift import evaluate as evaluate_module
from drift import measure as measure_module
from drift.statistics import Comparison, Support, compute_all, compute_each


def _same(a: dict[str, float], b: dict[str, float]) -> None:
    assert list(a) == list(b)
    for name in a:
        both_nan = math.isnan(a[name]) and math.isnan(b[name])
        assert both_nan or a[name] == b[name], (name, a[name], b[name])


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("alpha", [0.5, 0.0, 1e-9])
def test_combined_equals_each_statistic(seed: int, alpha: float) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 30))
    recent = rng.poisson(rng.uniform(0.2, 50), k).astype(np.float64)
    baseline = rng.poisson(rng.uniform(0.2, 500), k).astype(np.float64)
    recent[0] += 1.0  # a non-empty side each
    baseline[-1] += 1.0
    support = None
    if seed % 2 == 0:
        n = int(rng.integers(1, 200))
        values = np.sort(rng.normal(0.0, rng.uniform(0.0, 5.0), n))
        r, b = rng.poisson(3.0, n).astype(np.float64), rng.poisson(30.0, n).astype(np.float64)
        r[-1] += 1.0
        b[0] += 1.0
        support = Support(values, r, b)
    c = Comparison.from_counts(recent, baseline, support, alpha)
    _same(compute_all(c), compute_each(c))


def test_combined_takes_the_fallback_with_a_zero_share() -> None:
    c = Comparison.from_counts(np.array([0.0, 3.0, 1.0]), np.array([2.0, 0.0, 5.0]), alpha=0.0)
    with np.errstate(divide="ignore"):
        got, reference = compute_all(c), compute_each(c)
    _same(got, reference)
    assert math.isinf(got["psi"]) or math.isnan(got["psi"])  # the modules' own edge case


def _windows(seed: int) -> list[evaluate_module.StreamWindows]:
    rng = np.random.default_rng(seed)
    inputs = []
    for i in range(6):
        recent, baseline = NumericHistogram(), NumericHistogram()
        baseline.update(rng.normal(0.0, 1.0, 5000))
        recent.update(rng.normal(0.05 * i, 1.0 + 0.05 * i, 800))
        subs = []
        for _ in range(8):
            h = NumericHistogram()
            h.update(rng.normal(0.0, 1.0, 800))
            subs.append(h)
        inputs.append(evaluate_module.StreamWindows(f"input.n{i}", recent, baseline, subs))
    for i in range(3):
        cats = np.array(["a", "b", "c", "d"])
        crec, cbase = CategoricalHistogram(), CategoricalHistogram()
        cbase.update(list(rng.choice(cats, 5000)))
        crec.update(list(rng.choice(cats, 800, p=[0.25 + 0.05 * i, 0.25, 0.25, 0.25 - 0.05 * i])))
        inputs.append(evaluate_module.StreamWindows(f"input.c{i}", crec, cbase))
    return inputs


@pytest.mark.parametrize("rule", ["calibrated", "fixed"])
@pytest.mark.parametrize("seed", range(4))
def test_verdicts_unchanged(rule: str, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The model measured in one pass against each stream alone with the registry's
    statistics one by one."""
    policy = DetectionPolicy(rule=rule)
    new = evaluate_module.decide(evaluate_module.measure_model(_windows(seed), policy), policy)
    monkeypatch.setattr(measure_module, "compute_all", compute_each)
    each = evaluate_module.measure_model_each(_windows(seed), policy)
    old = evaluate_module.decide(each, policy)
    assert new == old
    assert all(e.metrics for e in new)
