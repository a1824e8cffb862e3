"""Performance from aggregates: realised classification and regression metrics, the
label-free estimate (CBPE) on a known generator."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from drift.performance import (
    ConfidenceBins,
    calibration_table,
    classification,
    confidence_bin,
    estimate,
    log_loss_term,
    performance_verdict,
    regression,
)

pytestmark = pytest.mark.unit


def _binary(rng, n: int, low: float = 5.0, concept: float = 0.0):
    """A calibrated binary classifier: confidence of the predicted class in [0.5, 1], right
    with that probability (less ``concept`` after a concept drift)."""
    conf = 0.5 + 0.5 * rng.beta(low, 2.0, n)
    right = rng.random(n) < np.clip(conf - concept, 0, 1)
    truth = rng.choice(["yes", "no"], n)
    pred = np.where(right, truth, np.where(truth == "yes", "no", "yes"))
    return conf, right, truth, pred


def _bins(conf, right) -> ConfidenceBins:
    bins = ConfidenceBins()
    for c, r in zip(conf, right, strict=True):
        bins.add(confidence_bin(float(c)), 1, float(c), int(r))
    return bins


def test_classification_metrics_equal_a_direct_computation():
    rng = np.random.default_rng(1)
    conf, right, truth, pred = _binary(rng, 5_000)
    confusion = Counter(zip(truth.tolist(), pred.tolist(), strict=True))
    loss = sum(log_loss_term(float(c), bool(r)) for c, r in zip(conf, right, strict=True))
    got = classification(confusion, _bins(conf, right), loss)
    assert got.labelled == 5_000
    assert got.accuracy == pytest.approx(right.mean())
    tp = ((pred == "yes") & (truth == "yes")).sum()
    precision, recall = tp / (pred == "yes").sum(), tp / (truth == "yes").sum()
    yes = got.per_class["yes"]
    assert (yes.precision, yes.recall) == pytest.approx((precision, recall))
    assert yes.f1 == pytest.approx(2 * precision * recall / (precision + recall))
    assert got.confusion["yes"]["no"] == ((truth == "yes") & (pred == "no")).sum()
    p = np.clip(conf, 1e-15, 1 - 1e-15)  # binary: the usual log loss of the true class
    p_true = np.where(pred == "yes", p, 1 - p)
    y = truth == "yes"
    direct = -np.mean(np.where(y, np.log(p_true), np.log(1 - p_true)))
    assert got.log_loss == pytest.approx(direct)
    edges = np.minimum((conf * 10).astype(int), 9)
    ece = sum(
        (edges == b).sum() / len(conf) * abs(right[edges == b].mean() - conf[edges == b].mean())
        for b in range(10)
        if (edges == b).any()
    )
    assert got.ece == pytest.approx(ece)


def test_regression_metrics_from_sums():
    rng = np.random.default_rng(2)
    e = rng.normal(0.3, 2.0, 1_000)
    got = regression(e.size, np.abs(e).sum(), (e * e).sum(), e.sum())
    assert (got.mae, got.rmse, got.bias) == pytest.approx(
        (np.abs(e).mean(), np.sqrt((e * e).mean()), e.mean())
    )


def _table(conf, pred, right):
    ref: dict[tuple[str, int], list[float]] = {}
    for c, p, r in zip(conf, pred, right, strict=True):
        cell = ref.setdefault((str(p), confidence_bin(float(c))), [0, 0.0, 0])
        cell[0] += 1
        cell[1] += float(c)
        cell[2] += int(r)
    return calibration_table({k: (int(a), b, int(c)) for k, (a, b, c) in ref.items()})


def _window(conf, pred):
    out: dict[tuple[str, int], list[float]] = {}
    for c, p in zip(conf, pred, strict=True):
        cell = out.setdefault((str(p), confidence_bin(float(c))), [0, 0.0])
        cell[0] += 1
        cell[1] += float(c)
    return {k: (int(n), s) for k, (n, s) in out.items()}


def test_label_free_estimate_tracks_realised_accuracy_and_moves_with_a_prediction_shift():
    rng = np.random.default_rng(3)
    conf, right, _, pred = _binary(rng, 20_000)
    table = _table(conf, pred, right)
    errors = []
    for seed in range(20):  # 20 windows of 5,000 inferences
        c, r, _, p = _binary(np.random.default_rng(100 + seed), 5_000)
        errors.append(abs(estimate(_window(c, p), table).accuracy - r.mean()))
    assert max(errors) < 0.02
    calm = estimate(_window(*_binary(rng, 5_000)[::3]), table).accuracy
    c, r, _, p = _binary(rng, 5_000, low=1.5)  # the model is less sure: a prediction shift
    shifted = estimate(_window(c, p), table, positive="yes")
    assert shifted.accuracy < calm - 0.05
    assert abs(shifted.accuracy - r.mean()) < 0.02
    cm = shifted.confusion
    assert cm is not None and sum(cm.values()) == pytest.approx(5_000)


def test_a_concept_drift_is_invisible_to_the_estimate_but_not_to_the_realised_value():
    rng = np.random.default_rng(4)
    conf, right, _, pred = _binary(rng, 20_000)
    table = _table(conf, pred, right)
    c, r, _, p = _binary(rng, 5_000, concept=0.15)
    assert abs(estimate(_window(c, p), table).accuracy - right.mean()) < 0.02
    assert r.mean() < right.mean() - 0.1


def _hours(rng, n: int, acc: float, hours: int = 24, wobble: float = 0.0):
    out = []
    for _ in range(hours):
        a = np.clip(acc + rng.normal(0, wobble), 0, 1)
        out.append((n, int(rng.binomial(n, a))))
    return out


def test_performance_verdict_is_calibrated_and_sees_a_drop():
    rng = np.random.default_rng(8)
    flagged = 0
    for _ in range(300):  # no change, accuracy wobbling hour to hour by 2 points
        base = _hours(rng, 500, 0.85, wobble=0.02)
        window = _hours(rng, 500, 0.85, hours=1, wobble=0.02)[0]
        flagged += performance_verdict(window, base).status == "degraded"
    assert flagged <= 3  # 300 windows at fdr 0.001 (~0.3 expected), small margin
    base = _hours(rng, 500, 0.85, wobble=0.02)
    drop = performance_verdict((500, int(0.70 * 500)), base)
    assert drop.status == "degraded" and drop.drop == pytest.approx(0.15, abs=0.02)
    rise = performance_verdict((500, int(0.97 * 500)), base)
    assert rise.status == "ok" and rise.p_value > 0.5  # better is not degraded
    small = performance_verdict((50, 10), base)
    assert small.status == "insufficient_data"
