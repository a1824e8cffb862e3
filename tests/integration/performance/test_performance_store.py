"""Labels joined to logged inferences on a real PostgreSQL: performance per window equals a
direct computation on the same events, replays change nothing, late and replaced labels."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

import numpy as np
import psycopg
import pytest

from drift.labels import LabelEvent
from drift.performance import ConfidenceBins, classification, confidence_bin, log_loss_term
from sinks.performance_store import (
    PerformanceSettings,
    compute_dirty,
    compute_window,
    retry_unmatched,
    store_labels,
)
from tests.integration.performance.perf_support import log_inferences

pytestmark = pytest.mark.integration
HOUR = 3600
T0 = 1_796_083_200  # 2026-12-01T00:00Z, an hour boundary
SETTINGS = PerformanceSettings()


def _events(rng, hour: int, n: int, concept: float = 0.0):
    conf = 0.5 + 0.5 * rng.beta(5.0, 2.0, n)
    right = rng.random(n) < np.clip(conf - concept, 0, 1)
    truth = rng.choice(["yes", "no"], n)
    pred = np.where(right, truth, np.where(truth == "yes", "no", "yes"))
    times = T0 + hour * HOUR + rng.uniform(0, HOUR, n)
    return [
        (f"h{hour}-{i}", float(t), str(p), float(c), str(y))
        for i, (t, p, c, y) in enumerate(zip(times, pred, conf, truth, strict=True))
    ]


def _log(conn, events, as_object: bool = False, model: str = "m") -> None:
    """Log ``events``; ``as_object``: their predictions as ``{"class", "score"}`` objects."""
    if as_object:
        events = [(eid, t, {"class": p, "score": c}, c, y) for eid, t, p, c, y in events]
    log_inferences(conn, model, events)


def _labels(events, delay: float = 86_400.0, model: str = "m") -> list[LabelEvent]:
    return [LabelEvent(model, eid, y, t + delay) for eid, t, _, _, y in events]


def _direct(events):
    confusion = Counter((y, p) for _, _, p, _, y in events)
    bins = ConfidenceBins()
    loss = 0.0
    for _, _, p, c, y in events:
        bins.add(confidence_bin(c), 1, c, int(p == y))
        loss += log_loss_term(c, p == y)
    return classification(confusion, bins, loss)


def _window(conn, hour: int, model: str = "m") -> dict:
    cur = conn.execute(
        "SELECT * FROM performance_windows WHERE model_id = %s AND window_start = %s",
        (model, datetime.fromtimestamp(T0 + hour * HOUR, UTC)),
    )
    names = [d.name for d in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def test_realised_performance_equals_a_direct_computation_and_replays_change_nothing(db_dsn):
    rng = np.random.default_rng(5)
    reference = [e for h in range(24) for e in _events(rng, h, 300)]  # a labelled day
    calm, drifted = _events(rng, 24, 2_000), _events(rng, 25, 2_000, concept=0.2)
    with psycopg.connect(db_dsn) as conn:
        _log(conn, reference + drifted)
        _log(conn, calm, as_object=True)  # {"class", "score"} predictions name their class
        late = drifted[:50]  # labelled after the 7-day horizon: counted, not used
        store_labels(conn, _labels(reference + calm + drifted[50:]), SETTINGS, T0 + 30 * HOUR)
        store_labels(conn, _labels(late, delay=8 * 86_400), SETTINGS, T0 + 9 * 86_400)
        conn.commit()
        assert compute_dirty(conn, SETTINGS) == 26
        first = {h: _window(conn, h) for h in (24, 25)}
        for events, w in ((calm, first[24]), (drifted[50:], first[25])):
            direct = _direct(events)
            assert w["inferences"] == 2_000
            assert w["labelled"] == direct.labelled
            assert w["accuracy"] == pytest.approx(direct.accuracy, abs=1e-12)
            assert w["log_loss"] == pytest.approx(direct.log_loss, rel=1e-9)
            assert w["ece"] == pytest.approx(direct.ece, rel=1e-9)
            assert w["confusion"] == {t: dict(p) for t, p in direct.confusion.items()}
            assert w["per_class"]["yes"]["recall"] == pytest.approx(direct.per_class["yes"].recall)
        assert first[25]["too_late"] == 50 and first[25]["labelled_share"] == pytest.approx(0.975)
        # the label-free estimate: right on the calibrated hour, blind to the concept drift
        assert abs(first[24]["estimated_accuracy"] - first[24]["accuracy"]) < 0.02
        assert first[25]["accuracy"] < first[24]["accuracy"] - 0.1
        assert abs(first[25]["estimated_accuracy"] - first[24]["estimated_accuracy"]) < 0.02
        # a replay of the label topic changes no figure
        store_labels(conn, _labels(reference + calm + drifted[50:]), SETTINGS, T0 + 31 * HOUR)
        conn.commit()
        compute_dirty(conn, SETTINGS)
        again = {h: _window(conn, h) for h in (24, 25)}
        for h in (24, 25):
            assert {k: v for k, v in again[h].items() if k != "computed_at"} == {
                k: v for k, v in first[h].items() if k != "computed_at"
            }


def test_a_windows_figures_do_not_depend_on_the_order_its_rows_are_read_in(db_dsn):
    """Float sums depend on the order they add in, and the order rows reach an aggregate is the
    plan's (after a replay the statistics and the plan may change): the same events stored in
    opposite orders, one model read by index and the other by sequential scan, give
    bit-identical figures (a replay once changed the ECE in its last bit, CI of stop 20)."""
    rng = np.random.default_rng(8)
    reference = [e for h in range(24) for e in _events(rng, h, 200)]
    window = _events(rng, 24, 3_000)
    events = reference + window
    with psycopg.connect(db_dsn) as conn:
        _log(conn, events, model="a")
        _log(conn, events[::-1], model="b")
        store_labels(conn, _labels(events, model="a"), SETTINGS, T0 + 30 * HOUR)
        store_labels(conn, _labels(events[::-1], model="b"), SETTINGS, T0 + 30 * HOUR)
        conn.execute("DELETE FROM performance_dirty")
        conn.commit()
        for hour in (0, 24):
            compute_window(conn, "a", T0 + hour * HOUR, SETTINGS)
            conn.execute("SET LOCAL enable_indexscan = off")
            conn.execute("SET LOCAL enable_bitmapscan = off")
            compute_window(conn, "b", T0 + hour * HOUR, SETTINGS)
            conn.commit()
            a, b = (_window(conn, hour, m) for m in ("a", "b"))
            assert a["ece"] is not None and a["log_loss"] is not None
            assert (a["estimated_accuracy"] is not None) == (hour == 24)  # after a labelled day
            skip = ("model_id", "computed_at")
            assert {k: v for k, v in a.items() if k not in skip} == {
                k: v for k, v in b.items() if k not in skip
            }


def test_a_newer_label_replaces_the_first_and_an_early_label_waits_for_its_inference(db_dsn):
    rng = np.random.default_rng(6)
    events = _events(rng, 0, 100)
    with psycopg.connect(db_dsn) as conn:
        early = _labels(events[:10])
        store_labels(conn, early, SETTINGS, time.time())  # before the inferences are logged
        _log(conn, events)
        store_labels(conn, _labels(events[10:]), SETTINGS, T0 + HOUR)
        conn.commit()
        assert retry_unmatched(conn, SETTINGS) == 0  # the early ones found their inference
        conn.commit()
        compute_dirty(conn, SETTINGS)
        assert _window(conn, 0)["labelled"] == 100
        eid, t, p, _, y = events[20]
        flipped = "no" if y == "yes" else "yes"
        before = _window(conn, 0)["accuracy"]
        store_labels(conn, [LabelEvent("m", eid, flipped, t + 2 * 86_400)], SETTINGS, T0 + 3 * HOUR)
        store_labels(conn, [LabelEvent("m", eid, y, t + 86_400)], SETTINGS, T0 + 4 * HOUR)  # older
        conn.commit()
        compute_dirty(conn, SETTINGS)
        after = _window(conn, 0)["accuracy"]
        assert after == pytest.approx(before + (0.01 if flipped == p else -0.01))
