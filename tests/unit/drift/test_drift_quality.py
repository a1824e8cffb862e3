"""Data-quality signals: missing share, out-of-range share, new categories, schema changes."""

from __future__ import annotations

import numpy as np
import pytest

from drift import CategoricalHistogram, NumericHistogram
from drift.bins import Subwindows
from drift.quality import QualityInput, QualityPolicy, decide_quality, measure_quality

pytestmark = pytest.mark.unit
POLICY = QualityPolicy()
LEVELS = np.array(["DE", "FR", "US", "GB", "IT"])


def _numeric(rng, n: int, missing: float = 0.02, scale: float = 1.0) -> NumericHistogram:
    x = rng.lognormal(0, 1, n) * scale
    x[rng.random(n) < missing] = np.nan
    h = NumericHistogram()
    h.update(x)
    return h


def _categorical(rng, n: int, new: float = 0.0) -> CategoricalHistogram:
    values = list(rng.choice(LEVELS, n, p=[0.4, 0.3, 0.15, 0.1, 0.05]))
    for i in np.flatnonzero(rng.random(n) < new):
        values[i] = "XX"
    values = [None if rng.random() < 0.01 else v for v in values]
    h = CategoricalHistogram()
    h.update(values)
    return h


def _model(rng, n: int = 1_000, change: bool = False, drop: bool = False) -> list[QualityInput]:
    """Four streams, 24 baseline hours of ``n`` values, a recent hour; ``change``: the missing
    share of ``input.b`` rises to 20% and ``input.c`` gets a new category (5%)."""
    makers = {
        "input.a": lambda after: _numeric(rng, n),
        "input.b": lambda after: _numeric(rng, n, missing=0.2 if after and change else 0.02),
        "input.c": lambda after: _categorical(rng, n, new=0.05 if after and change else 0.0),
        "input.d": lambda after: _categorical(rng, n),
    }
    inputs = []
    for name, make in makers.items():
        subs = [make(False) for _ in range(24)]
        base = subs[0].copy()
        for s in subs[1:]:
            base += s  # type: ignore[operator]
        recent = make(True) if not (drop and name == "input.d") else base.empty_like()
        inputs.append(QualityInput(name, recent, base, Subwindows(subs)))
    return inputs


def _issues(inputs) -> dict[str, tuple[str, ...]]:
    return {q.stream: q.issues for q in decide_quality(measure_quality(inputs, POLICY), POLICY)}


def test_calm_streams_raise_no_issue():
    flagged = sum(any(_issues(_model(np.random.default_rng(s))).values()) for s in range(40))
    assert flagged == 0  # 40 models x 4 streams, each with 2% missing and a heavy tail


def test_missing_share_and_new_category_flag_exactly_those_streams():
    issues = _issues(_model(np.random.default_rng(7), change=True))
    assert issues == {
        "input.a": (),
        "input.b": ("missing",),
        "input.c": ("new_category",),
        "input.d": (),
    }


def test_values_outside_the_baseline_range_are_flagged():
    rng = np.random.default_rng(3)
    inputs = _model(rng)
    a = inputs[0]
    recent = _numeric(rng, 1_000, scale=1.0)
    recent += _numeric(rng, 100, scale=1_000.0)  # a unit change in 1 of 11 values
    measured = measure_quality([QualityInput("input.a", recent, a.baseline, a.subwindows)], POLICY)
    (q,) = decide_quality(measured, POLICY)
    assert q.issues == ("out_of_range",)
    assert 0.05 < (q.out_of_range_share or 0) < 0.1


def test_a_stream_that_vanishes_or_appears_is_a_schema_change():
    rng = np.random.default_rng(4)
    issues = _issues(_model(rng, drop=True))
    assert issues["input.d"] == ("vanished",)
    assert issues["input.a"] == ()
    new = QualityInput("input.z", _numeric(rng, 500), NumericHistogram())
    known = QualityInput("input.a", _numeric(rng, 500), _numeric(rng, 5_000))
    q, _ = decide_quality(measure_quality([new, known], POLICY), POLICY)
    assert q.issues == ("appeared",)
    # a new model: every stream starts without a baseline, none has "appeared"
    young = [new, QualityInput("input.a", _numeric(rng, 500), NumericHistogram())]
    assert [q.issues for q in decide_quality(measure_quality(young, POLICY), POLICY)] == [(), ()]
    quiet = [QualityInput("input.a", NumericHistogram(), _numeric(rng, 5_000))]
    (q,) = decide_quality(measure_quality(quiet, POLICY), POLICY)
    assert q.issues == ()  # the whole model is quiet: nothing vanished


def _cycling(rng, hours: int, n: int, base: float, swing: float, rise_to: float | None = None):
    """A stream whose missing share follows a daily cycle ``base ± swing``; the recent hour at
    the cycle's peak, or at ``rise_to``."""
    subs = [_numeric(rng, n, base + swing * np.sin(2 * np.pi * h / 24)) for h in range(hours)]
    total = subs[0].copy()
    for s in subs[1:]:
        total += s
    recent = _numeric(rng, n, base + swing if rise_to is None else rise_to)
    return QualityInput("input.m", recent, total, Subwindows(subs))


def test_a_missing_share_with_a_daily_cycle_is_not_an_issue_and_a_rise_from_zero_is():
    # 200 seeded draws each: 250 values an hour, a 24 h baseline
    cycle = [_cycling(np.random.default_rng(s), 24, 250, 0.10, 0.06) for s in range(200)]
    flagged = sum(bool(_issues([q])["input.m"]) for q in cycle)
    assert flagged <= 2  # <= 1% of evaluations
    # nothing missing in the baseline, then 20% of the recent hour: always flagged
    rises = [_cycling(np.random.default_rng(s), 24, 250, 0.0, 0.0, 0.2) for s in range(50)]
    assert all(_issues([q])["input.m"] == ("missing",) for q in rises)
    # one sub-window already holding the change does not hide it (robust spread)
    rng = np.random.default_rng(1)
    subs = [_numeric(rng, 1_000, 0.0) for _ in range(23)] + [_numeric(rng, 1_000, 0.2)]
    total = subs[0].copy()
    for s in subs[1:]:
        total += s
    q = QualityInput("input.m", _numeric(rng, 1_000, 0.2), total, Subwindows(subs))
    assert _issues([q])["input.m"] == ("missing",)
