"""Thresholds, per-stream overrides, the model verdict and alert hysteresis."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift import (
    DEFAULT_THRESHOLDS,
    AlertState,
    DetectionPolicy,
    Hysteresis,
    StreamEvaluation,
    Thresholds,
    model_verdict,
    step,
)

pytestmark = pytest.mark.unit


def test_default_thresholds_follow_the_specification() -> None:
    assert DEFAULT_THRESHOLDS.crossed("kl_divergence", 0.11)
    assert not DEFAULT_THRESHOLDS.crossed("kl_divergence", 0.1)
    assert DEFAULT_THRESHOLDS.crossed("cosine_similarity", 0.89)
    assert not DEFAULT_THRESHOLDS.crossed("cosine_similarity", 0.95)
    assert DEFAULT_THRESHOLDS.crossed("psi", 0.21) and not DEFAULT_THRESHOLDS.crossed("psi", 0.19)
    assert not DEFAULT_THRESHOLDS.crossed("chi2_pvalue", 0.0)  # informational by default
    assert set(Thresholds.DIRECTIONS) == {
        "kl_divergence",
        "cosine_similarity",
        "psi",
        "js_distance",
        "hellinger",
        "wasserstein",
        "ks_statistic",
        "chi2_pvalue",
    }


def test_drifted_lists_the_crossing_metrics_in_order() -> None:
    metrics = {"kl_divergence": 0.5, "cosine_similarity": 0.95, "psi": 0.3, "chi2_pvalue": 0.0}
    assert DEFAULT_THRESHOLDS.drifted(metrics) == ("kl_divergence", "psi")


def test_overrides_per_stream_win_over_the_model_wide_entry() -> None:
    policy = DetectionPolicy(
        overrides={
            "*": {"kl_divergence": 0.3, "chi2_pvalue": 0.001},
            "input.age": {"kl_divergence": 0.05},
        }
    )
    assert policy.for_stream("input.other").limit("kl_divergence") == 0.3
    assert policy.for_stream("input.age").limit("kl_divergence") == 0.05
    assert policy.for_stream("input.age").limit("chi2_pvalue") == 0.001
    assert policy.for_stream("input.age").crossed("chi2_pvalue", 0.0001)
    relaxed = policy.with_overrides({"input.age": {"psi": None}, "prediction": {"psi": 1.0}})
    assert relaxed.for_stream("input.age").limit("kl_divergence") == 0.05
    assert relaxed.for_stream("input.age").limit("psi") is None
    assert relaxed.for_stream("prediction").limit("psi") == 1.0
    assert policy.for_stream("input.age").limit("psi") == 0.2  # the original is unchanged


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_bins": 1},
        {"min_recent": 0},
        {"smoothing": -1.0},
        {"overrides": {"*": {"kl": 0.1}}},
    ],
)
def test_invalid_policies_are_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        DetectionPolicy(**kwargs)


def test_unknown_metric_lookup_raises() -> None:
    with pytest.raises(KeyError):
        DEFAULT_THRESHOLDS.limit("accuracy")


def ev(stream: str, status: str) -> StreamEvaluation:
    return StreamEvaluation(stream, "numeric", status, {}, (), 0, 0, None)  # type: ignore[arg-type]


def test_model_verdict_share_and_prediction_drift() -> None:
    evals = [
        ev("input.a", "drift"),
        ev("input.b", "ok"),
        ev("input.c", "ok"),
        ev("input.d", "insufficient_data"),
        ev("prediction.class", "ok"),
        ev("confidence", "drift"),
    ]
    verdict = model_verdict(evals)
    assert verdict.status == "ok" and not verdict.prediction_drift
    assert verdict.drifted_input_share == pytest.approx(1 / 3)
    assert verdict.drifted_streams == ("input.a", "confidence")
    evals[4] = ev("prediction.class", "drift")
    verdict = model_verdict(evals)
    assert verdict.status == "drift" and verdict.prediction_drift
    half = model_verdict([ev("input.a", "drift"), ev("input.b", "ok")])
    assert half.status == "drift" and half.drifted_input_share == 0.5
    assert (
        model_verdict([ev("input.a", "drift"), ev("input.b", "ok")], drift_share=0.6).status == "ok"
    )


def test_model_verdict_without_data_is_insufficient() -> None:
    assert model_verdict([]).status == "insufficient_data"
    verdict = model_verdict([ev("input.a", "insufficient_data")])
    assert verdict.status == "insufficient_data" and verdict.drifted_input_share == 0.0


def run(statuses: list[str], rule: Hysteresis) -> list[str | None]:
    state, transitions = AlertState(), list[str | None]()
    for status in statuses:
        state, transition = step(state, status, rule)
        transitions.append(transition)
    return transitions


def test_hysteresis_opens_after_n_and_resolves_after_m() -> None:
    rule = Hysteresis(open_after=2, resolve_after=3)
    got = run(
        ["drift", "ok", "drift", "drift", "drift", "ok", "ok", "drift", "ok", "ok", "ok"], rule
    )
    assert got == [None, None, None, "open", None, None, None, None, None, None, "resolve"]


def test_insufficient_data_leaves_the_state_unchanged() -> None:
    state = AlertState(open=True, drift_streak=0, ok_streak=2)
    assert step(state, "insufficient_data", Hysteresis()) == (state, None)
    rule = Hysteresis(open_after=2)
    assert run(["drift", "insufficient_data", "drift"], rule) == [None, None, "open"]
    with pytest.raises(ValueError, match="unknown status"):
        step(state, "dirft", rule)
    with pytest.raises(ValueError):
        Hysteresis(open_after=0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["ok", "drift", "insufficient_data"]), max_size=40),
    st.integers(1, 4),
    st.integers(1, 4),
)
def test_hysteresis_transitions_alternate_and_track_the_open_flag(
    statuses: list[str], open_after: int, resolve_after: int
) -> None:
    rule = Hysteresis(open_after, resolve_after)
    state, is_open, transitions = AlertState(), False, []
    for status in statuses:
        state, transition = step(state, status, rule)
        if transition:
            transitions.append(transition)
            is_open = transition == "open"
        assert state.open == is_open
    assert transitions == ["open", "resolve"] * (len(transitions) // 2) + ["open"] * (
        len(transitions) % 2
    )
    assert transitions.count("open") <= statuses.count("drift") // open_after + 1
