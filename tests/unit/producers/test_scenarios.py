"""Each scenario shifts exactly the streams it claims, checked statistically.

Before vs after the drift point (n = 20,000 each): Kolmogorov-Smirnov for numeric streams,
chi-square on the contingency table for categorical ones. A stream that should shift must give
p < 1e-6; one that should not must give p > 1e-3 (seeds are fixed, so this is deterministic).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from producers.generate import build_events
from producers.scenarios import SCENARIOS, DriftSchedule, Sample, default_model, sample

pytestmark = pytest.mark.unit

N = 20_000
SPEC = default_model(1)
SCHEDULE = DriftSchedule(drift_at=10_000.0, transition=1_000.0, period=500.0)
STREAMS = [
    *(f.name for f in SPEC.numeric),
    *(f.name for f in SPEC.categorical),
    "prediction.class",
    "prediction.score",
    "confidence",
]
CATEGORICAL = {"country", "device", "prediction.class"}


def draw(scenario: str, start: float, end: float, seed: int) -> Sample:
    t = np.sort(np.random.default_rng(seed + 1000).uniform(start, end, N))
    return sample(SPEC, SCENARIOS[scenario], t, SCHEDULE, np.random.default_rng(seed))


def p_value(stream: str, a: Sample, b: Sample) -> float:
    x, y = a.stream(stream), b.stream(stream)
    if stream in CATEGORICAL:
        values = np.union1d(x, y)
        table = [[np.sum(x == v) for v in values], [np.sum(y == v) for v in values]]
        return float(stats.chi2_contingency(table).pvalue)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]  # missing values are not part of the distribution
    return float(stats.ks_2samp(x, y).pvalue)


def before(scenario: str) -> Sample:
    return draw(scenario, 0.0, SCHEDULE.drift_at, seed=1)


# windows in which each scenario's drift is fully on
AFTER = {
    "none": (10_000.0, 20_000.0),
    "sudden": (10_000.0, 20_000.0),
    "gradual": (11_000.0, 20_000.0),
    "incremental": (11_000.0, 20_000.0),
    "recurring": (10_000.0, 10_500.0),
    "categorical": (10_000.0, 20_000.0),
    "prediction-only": (10_000.0, 20_000.0),
    "concept": (10_000.0, 20_000.0),
    "quality": (10_000.0, 20_000.0),
    "embedding": (10_000.0, 20_000.0),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_shifts_exactly_the_streams_it_claims(name):
    a, b = before(name), draw(name, *AFTER[name], seed=2)
    shifted = SCENARIOS[name].shifted_streams(SPEC)
    assert shifted <= set(STREAMS)
    p = {stream: p_value(stream, a, b) for stream in STREAMS}
    assert {s for s in STREAMS if p[s] < 1e-6} == shifted, p
    assert all(p[s] > 1e-3 for s in STREAMS if s not in shifted), p


def test_claimed_streams():
    inputs = {"feature1", "feature2", "prediction.class", "prediction.score", "confidence"}
    assert SCENARIOS["none"].shifted_streams(SPEC) == set()
    assert SCENARIOS["sudden"].shifted_streams(SPEC) == inputs
    assert SCENARIOS["categorical"].shifted_streams(SPEC) == {"country", "device"}
    assert SCENARIOS["prediction-only"].shifted_streams(SPEC) == {
        "prediction.class",
        "prediction.score",
        "confidence",
    }


def test_sudden_shift_has_the_documented_size():
    a, b = before("sudden"), draw("sudden", *AFTER["sudden"], seed=2)
    assert np.mean(b.stream("feature1")) - np.mean(a.stream("feature1")) == pytest.approx(
        1.5, abs=0.05
    )
    assert np.mean(b.stream("feature2")) - np.mean(a.stream("feature2")) == pytest.approx(
        10.0, abs=0.5
    )
    assert np.mean(a.positive) == pytest.approx(0.5, abs=0.02)
    assert np.mean(b.positive) > 0.8


def test_categorical_shift_moves_to_the_documented_mix():
    b = draw("categorical", *AFTER["categorical"], seed=2)
    assert np.mean(b.stream("country") == "IN") == pytest.approx(0.40, abs=0.015)
    assert np.mean(b.stream("device") == "tablet") == pytest.approx(0.30, abs=0.015)


def test_drift_starts_at_drift_at_not_before():
    name = "sudden"
    late_before = draw(name, SCHEDULE.drift_at - 2_000, SCHEDULE.drift_at, seed=3)
    assert (
        stats.ks_2samp(before(name).stream("feature1"), late_before.stream("feature1")).pvalue
        > 1e-3
    )


def test_recurring_switches_off_again():
    off = draw("recurring", 10_500.0, 11_000.0, seed=4)
    on_again = draw("recurring", 11_000.0, 11_500.0, seed=5)
    a = before("recurring")
    assert p_value("feature1", a, off) > 1e-3
    assert p_value("feature1", a, on_again) < 1e-6


def test_gradual_mixes_concepts_while_incremental_moves_them():
    """Halfway through the transition: gradual is a 50/50 mixture of old and new (the variance
    grows by 0.25·1.5²), incremental is the old shape moved by half the shift."""
    mid = (10_450.0, 10_550.0)
    gradual = draw("gradual", *mid, seed=6).stream("feature1")
    incremental = draw("incremental", *mid, seed=6).stream("feature1")
    assert np.mean(gradual) == pytest.approx(0.75, abs=0.05)
    assert np.mean(incremental) == pytest.approx(0.75, abs=0.05)
    assert np.var(gradual) == pytest.approx(1 + 0.25 * 1.5**2, abs=0.08)
    assert np.var(incremental) == pytest.approx(1.0, abs=0.05)


def test_magnitude_scales_the_shift_and_zero_means_none():
    zero = DriftSchedule(drift_at=0.0, magnitude=0.0)
    double = DriftSchedule(drift_at=0.0, magnitude=2.0)
    t = np.linspace(1, 100, N)
    rng = np.random.default_rng
    assert (
        abs(np.mean(sample(SPEC, SCENARIOS["sudden"], t, zero, rng(0)).stream("feature1"))) < 0.05
    )
    shifted = sample(SPEC, SCENARIOS["sudden"], t, double, rng(0)).stream("feature1")
    assert np.mean(shifted) == pytest.approx(3.0, abs=0.05)


def test_same_seed_same_sample():
    t = np.linspace(0, 20_000, 1_000)
    a = sample(SPEC, SCENARIOS["gradual"], t, SCHEDULE, np.random.default_rng(7))
    b = sample(SPEC, SCENARIOS["gradual"], t, SCHEDULE, np.random.default_rng(7))
    for stream in STREAMS:
        assert np.array_equal(a.stream(stream), b.stream(stream))


def test_labels_follow_the_score_until_a_concept_drift_flips_them():
    t = np.linspace(0.0, 20_000.0, 40_000)
    calm = sample(SPEC, SCENARIOS["none"], t, SCHEDULE, np.random.default_rng(3))
    assert calm.truth is not None
    right = calm.truth == calm.positive
    assert abs(right.mean() - calm.confidence.mean()) < 0.01  # a calibrated model
    drifted = sample(SPEC, SCENARIOS["concept"], t, SCHEDULE, np.random.default_rng(3))
    after = t >= SCHEDULE.drift_at
    np.testing.assert_array_equal(drifted.score, calm.score)  # the model sees the same
    assert SCENARIOS["concept"].shifted_streams(SPEC) == frozenset()
    acc_after = (drifted.truth == drifted.positive)[after].mean()
    assert acc_after < right[after].mean() - 0.1
    assert (drifted.truth == drifted.positive)[~after].mean() == pytest.approx(right[~after].mean())


def test_the_quality_scenario_breaks_exactly_the_streams_it_names():
    scenario = SCENARIOS["quality"]
    assert scenario.quality_streams(SPEC) == {"feature1": "missing", "country": "new_category"}
    a, b = before("quality"), draw("quality", *AFTER["quality"], seed=2)
    assert not np.isnan(a.stream("feature1")).any() and "XX" not in set(a.stream("country"))
    assert np.isnan(b.stream("feature1")).mean() == pytest.approx(0.2, abs=0.01)
    assert (b.stream("country") == "XX").mean() == pytest.approx(0.1, abs=0.01)
    assert not any(np.isnan(b.stream(n)).any() for n in ("feature2", "feature3", "feature4"))
    # the generator sends a missing value as null
    events = build_events(SPEC, b, [0.0] * N, [str(i) for i in range(N)])
    nulls = sum(e["input_data"]["feature1"] is None for e in events)
    assert nulls == int(np.isnan(b.stream("feature1")).sum()) > 0


def test_embedding_scenario_moves_the_text_embedding_only():
    from drift.vectors import VectorMoments
    from producers.scenarios import embedding_model

    spec = embedding_model(1, dim=32)
    scenario = SCENARIOS["embedding"]
    assert scenario.shifted_streams(spec) == {"embedding.text"}
    t0 = np.sort(np.random.default_rng(1).uniform(0, SCHEDULE.drift_at, 4000))
    t1 = np.sort(np.random.default_rng(2).uniform(SCHEDULE.drift_at, 20_000, 4000))
    a = sample(spec, scenario, t0, SCHEDULE, np.random.default_rng(3))
    b = sample(spec, scenario, t1, SCHEDULE, np.random.default_rng(4))
    assert a.embeddings["text"].shape == (4000, 32) and np.abs(a.embeddings["text"]).max() < 5

    def mean_gap(name: str) -> float:
        m = [VectorMoments(32), VectorMoments(32)]
        m[0].update(a.embeddings[name])
        m[1].update(b.embeddings[name])
        se = np.sqrt(m[0].variance() / 4000 + m[1].variance() / 4000)
        return float(np.max(np.abs(m[0].mean() - m[1].mean()) / se))

    assert mean_gap("text") > 10 and mean_gap("image") < 5
    # every other stream keeps its distribution, and models without embeddings carry none
    assert all(p_value(s, a, b) > 1e-3 for s in STREAMS)
    assert draw("embedding", 0.0, 1.0, seed=1).embeddings == {}
