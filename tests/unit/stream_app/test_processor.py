"""The processor's logic without a broker: buckets, windows, replay skipping, evaluation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import orjson
import pytest

from drift import DetectionPolicy, EventLimits, Hysteresis
from stream_app.processor import (
    DedupSettings,
    EventTimeBounds,
    HistogramSettings,
    Output,
    Processor,
    RawRecord,
)
from stream_app.state import BucketRecord, bucket_key
from stream_app.tuning import DetectionSettings
from stream_app.windows import WindowSpec

pytestmark = pytest.mark.unit

SPEC = WindowSpec(bucket=60, recent=600, baseline=3600, lateness=0)


class DictStore(dict):
    def apply(self, out: Output) -> None:
        for key, (_, value) in out.writes.items():
            if value is None:
                self.pop(key, None)
            else:
                self[key] = value


def make(store: DictStore) -> Processor:
    return Processor(
        SPEC,
        DetectionPolicy(min_recent=100, min_baseline=1000),
        Hysteresis(1, 2),
        HistogramSettings(),
        EventLimits(),
        store,
    )


def records(
    t0: float, seconds: int, per_second: int, shift: float, rng, offset0: int, per_record: int = 10
) -> list[RawRecord]:
    out, offset = [], offset0
    times = np.repeat(np.arange(t0, t0 + seconds), per_second) + 0.5
    xs = rng.normal(shift, 1.0, len(times))
    for i in range(0, len(times), per_record):
        batch = [
            {
                "model_id": "m1",
                "timestamp": float(t),
                "input_data": {"x": float(x)},
                "prediction": "a",
                "confidence": 0.9,
            }
            for t, x in zip(times[i : i + per_record], xs[i : i + per_record], strict=True)
        ]
        out.append(RawRecord(0, offset, b"m1", orjson.dumps(batch), 0.0))
        offset += 1
    return out


def run(proc: Processor, store: DictStore, recs: list[RawRecord], chunk: int = 50) -> list:
    reports = []
    for i in range(0, len(recs), chunk):
        out = proc.process(recs[i : i + chunk], now=0.0)
        store.apply(out)
        reports.extend(out.reports)
    return reports


def test_stable_stream_is_ok_then_shift_is_drift():
    rng = np.random.default_rng(1)
    store = DictStore()
    proc = make(store)
    calm = records(0, 4200, 2, 0.0, rng, 0)
    shifted = records(4200, 1200, 2, 1.0, rng, len(calm))
    reports = run(proc, store, calm + shifted)
    x = [(r.window_end, e.status) for r in reports for e in r.evaluations if e.stream == "input.x"]
    early = [s for end, s in x if end <= 600]
    assert early and set(early) == {"insufficient_data"}
    calm_judged = [s for end, s in x if 1800 < end <= 4200]
    assert calm_judged and set(calm_judged) == {"ok"}
    late = [s for end, s in x if end >= 4200 + 600]
    assert late and set(late) == {"drift"}
    alerts = [a for r in reports for a in r.alerts if a["stream"] == "input.x"]
    assert [a["transition"] for a in alerts] == ["open"]


def test_replayed_batch_is_not_counted_twice():
    rng = np.random.default_rng(2)
    store = DictStore()
    recs = records(0, 300, 3, 0.0, rng, 0)
    run(make(store), store, recs)
    # a fresh processor (a restarted worker) sees the same records again, plus new ones
    more = records(300, 60, 3, 0.0, rng, len(recs))
    proc = make(store)
    run(proc, store, recs[-40:] + more)
    total = sum(
        BucketRecord.from_bytes(v).hists["input.x"].count for k, v in store.items() if "|b|" in k
    )
    assert total == 360 * 3


def _held(store: DictStore) -> int:
    return sum(
        BucketRecord.from_bytes(v).hists["input.x"].count for k, v in store.items() if "|b|" in k
    )


def test_a_record_twice_in_one_batch_counts_once():
    # after a rebalance a batch can hold a record fetched before it and again after it
    rng = np.random.default_rng(7)
    store = DictStore()
    recs = records(0, 60, 3, 0.0, rng, 0)
    out = make(store).process(recs[10:] + recs, now=0.0)
    store.apply(out)
    assert _held(store) == 60 * 3 and out.replayed == len(recs) - 10


def test_out_of_order_offsets_mark_the_highest_as_applied():
    # records of one partition out of order in a batch: a later replay of any of them is
    # skipped, which needs the highest offset (not the last one) recorded as applied
    rng = np.random.default_rng(8)
    store = DictStore()
    recs = records(0, 60, 3, 0.0, rng, 0)
    run(make(store), store, recs[10:] + recs[:10])
    run(make(store), store, recs)  # a restarted worker sees every record again
    assert _held(store) == 60 * 3


def test_records_skipped_in_one_delivery_count_when_delivered_later():
    # faust drops records of an older consumer generation from its stream and delivers them
    # again after the next seek: a bucket must not take the records after the gap as proof
    # that the ones inside it were counted
    rng = np.random.default_rng(10)
    store = DictStore()
    proc = make(store)
    recs = records(0, 60, 3, 0.0, rng, 0, per_record=3)  # 60 records, 20 buckets of 3 each
    run(proc, store, recs[:10] + recs[15:30])  # 10..14 skipped, buckets 3 and 4 half full
    run(proc, store, recs[10:])  # the redelivery from the committed offset
    assert _held(store) == 60 * 3
    run(make(store), store, recs)  # and a full replay after a restart adds nothing
    assert _held(store) == 60 * 3


def test_adopted_models_get_their_last_window_closed_when_idle():
    # a worker that takes over a partition (rebalance, restart) loads the models stored there,
    # so the idle timer closes the last window of a model that never sends again
    rng = np.random.default_rng(9)
    store = DictStore()
    first = make(store)
    run(first, store, records(0, 1800, 2, 0.0, rng, 0))
    last_end = first.models["m1"].meta.next_end
    heir = make(store)
    assert heir.close_idle(now=100.0, idle_seconds=60).reports == []  # knows nothing yet
    assert heir.adopt(["m1", "absent"], partitions={1}, now=0.0) == 0  # not our partition
    assert heir.adopt(["m1", "absent"], partitions={0}, now=0.0) == 1
    assert heir.close_idle(now=10.0, idle_seconds=60).reports == []  # adopted just now
    out = heir.close_idle(now=100.0, idle_seconds=60)
    assert [r.window_end for r in out.reports] == [last_end]


def test_expired_events_are_counted_late_and_dropped():
    rng = np.random.default_rng(3)
    store = DictStore()
    proc = make(store)
    run(proc, store, records(10_000, 120, 1, 0.0, rng, 0))
    out = proc.process(records(0, 10, 1, 0.0, rng, 500), now=0.0)
    assert out.late["m1"] == 10
    assert bucket_key("m1", 0) not in out.writes


def test_invalid_records_are_rejected_with_reasons_and_valid_ones_counted():
    store = DictStore()
    proc = make(store)
    good = orjson.dumps({"model_id": "m1", "timestamp": 10.0, "input_data": {"x": 1.0}})
    mixed = orjson.dumps(
        [
            {"model_id": "m1", "timestamp": 11.0, "input_data": {"x": 2.0}},
            {"timestamp": 12.0, "input_data": {"x": 3.0}},
        ]
    )
    recs = [
        RawRecord(0, 0, b"m1", good, 0.0),
        RawRecord(0, 1, b"m1", b"{not json", 0.0),
        RawRecord(0, 2, b"m1", mixed, 0.0),
    ]
    out = proc.process(recs, now=0.0)
    assert out.counted["m1"] == 2
    assert [r.record.offset for r in out.rejected] == [1, 2]
    assert out.rejected[0].reason == "bad_json"
    assert "model_id" in out.rejected[1].error


def test_model_cap_rejects_new_models_beyond_the_limit():
    proc = Processor(
        SPEC,
        DetectionPolicy(),
        Hysteresis(),
        HistogramSettings(max_models=2),
        EventLimits(),
        DictStore(),
    )
    recs = [
        RawRecord(
            0,
            i,
            None,
            orjson.dumps({"model_id": f"m{i}", "timestamp": 5.0, "input_data": {"x": 1.0}}),
            0.0,
        )
        for i in range(3)
    ]
    out = proc.process(recs, now=0.0)
    assert sorted(out.counted) == ["m0", "m1"]
    assert [r.reason for r in out.rejected] == ["too_many_models"]


def test_stream_cap_keeps_the_first_streams_only():
    proc = Processor(
        SPEC,
        DetectionPolicy(),
        Hysteresis(),
        HistogramSettings(max_streams_per_model=3),
        EventLimits(),
        DictStore(),
    )
    event = {"model_id": "m", "timestamp": 5.0, "input_data": {f"f{i}": 1.0 for i in range(6)}}
    out = proc.process([RawRecord(0, 0, b"m", orjson.dumps(event), 0.0)], now=0.0)
    record = BucketRecord.from_bytes(out.writes[bucket_key("m", 0)][1] or b"")
    assert len(record.hists) == 3


def test_idle_timer_closes_the_open_bucket_of_a_quiet_model():
    rng = np.random.default_rng(4)
    store = DictStore()
    proc = make(store)
    run(proc, store, records(0, 1800, 2, 0.0, rng, 0))
    last_end = proc.models["m1"].meta.next_end
    assert proc.close_idle(now=10.0, idle_seconds=60).reports == []  # not idle yet
    out = proc.close_idle(now=100.0, idle_seconds=60)
    assert [r.window_end for r in out.reports] == [last_end]


def test_thresholds_from_the_control_topic_change_the_verdict():
    rng = np.random.default_rng(5)
    store = DictStore()
    proc = make(store)
    run(proc, store, records(0, 4200, 2, 0.0, rng, 0))
    proc.control(
        0,
        {
            "action": "set_thresholds",
            "model_id": "m1",
            "thresholds": {"input.x": {"kl_divergence": 0.0001}},
        },
        now=0.0,
    )
    out = proc.process(records(4200, 120, 2, 0.0, rng, 10_000), now=0.0)
    statuses = {e.stream: e.status for r in out.reports for e in r.evaluations}
    assert statuses["input.x"] == "drift"
    assert statuses["confidence"] == "ok"


def test_pin_snapshots_the_baseline_and_unpin_returns_to_rolling():
    rng = np.random.default_rng(6)
    store = DictStore()
    proc = make(store)
    run(proc, store, records(0, 4200, 2, 0.0, rng, 0))
    out = proc.control(0, {"action": "pin_baseline", "model_id": "m1"}, now=1.0)
    store.apply(out)
    snapshot = out.baselines[0]
    assert snapshot["action"] == "pin" and set(snapshot["histograms"]) >= {"input.x"}
    assert proc.models["m1"].meta.pinned
    proc.reset()  # a restarted worker reloads the pin from its table
    after = proc.process(records(4200, 120, 2, 0.0, rng, 10_000), now=0.0)
    assert {r["baseline_mode"] for rep in after.reports for r in rep.results} == {"pinned"}
    out = proc.control(0, {"action": "unpin_baseline", "model_id": "m1"}, now=2.0)
    assert [orjson.loads(orjson.dumps(b)) for b in out.baselines] == [
        {"action": "unpin", "model_id": "m1"}
    ]
    assert not proc.models["m1"].meta.pinned


def _make_with(store: DictStore, detection) -> Processor:
    return Processor(
        SPEC,
        DetectionPolicy(min_recent=100, min_baseline=1000),
        Hysteresis(2, 2),
        HistogramSettings(),
        EventLimits(),
        store,
        detection=detection,
    )


def _x(reports) -> list[tuple[int, str, str]]:
    return [
        (r.window_end, res["status"], res["baseline_mode"])
        for r in reports
        for res in r.results
        if res["stream"] == "input.x"
    ]


def test_a_persisting_shift_stays_flagged_against_the_frozen_baseline_until_accepted():
    from stream_app.processor import DetectionSettings

    rng = np.random.default_rng(3)
    calm = records(0, 4200, 2, 0.0, rng, 0)
    shifted = records(4200, 3 * 3600, 2, 0.6, rng, len(calm))
    runs = {}
    for freeze in (True, False):
        store = DictStore()
        proc = _make_with(store, DetectionSettings(freeze_drifted=freeze))
        runs[freeze] = (_x(run(proc, store, calm + shifted)), store)
    frozen, absorbed = runs[True][0], runs[False][0]
    assert frozen[-1][1:] == ("drift", "frozen")  # 3 h later: still drift, frozen baseline
    assert absorbed[-1][1:] == ("ok", "rolling")  # without: the rolling baseline absorbed it
    # the frozen baseline survives a restart (it is in the table)
    store = runs[True][1]
    again = _make_with(store, DetectionSettings())
    later = records(4200 + 3 * 3600, 600, 2, 0.6, rng, 10**6)
    assert _x(run(again, store, later))[-1][1:] == ("drift", "frozen")
    # accepted as the new normal: back to the rolling baseline, which holds the change
    out = again.control(
        0,
        {"action": "accept_change", "model_id": "m1", "stream": "input.x", "by": "alice"},
        now=5.0,
    )
    store.apply(out)
    assert out.baselines[0]["action"] == "accept" and out.baselines[0]["by"] == "alice"
    after = _x(run(again, store, records(4200 + 3 * 3600 + 600, 1800, 2, 0.6, rng, 2 * 10**6)))
    assert {mode for _, _, mode in after} == {"rolling"} and after[-1][1] == "ok"


def test_seasonal_baseline_compares_with_the_same_time_on_previous_days():
    from stream_app.processor import DetectionSettings

    rng = np.random.default_rng(4)
    store = DictStore()
    proc = _make_with(store, DetectionSettings(seasonal_days=2))
    store.apply(
        proc.control(
            0, {"action": "set_baseline_mode", "model_id": "m1", "mode": "seasonal"}, now=0.0
        )
    )
    reports = run(proc, store, records(0, 86400 + 7200, 1, 0.0, rng, 0, per_record=50), chunk=200)
    modes = [mode for _, _, mode in _x(reports)]
    assert modes[0] == "rolling" and modes[-1] == "seasonal"  # rolling until a day is held
    last = next(res for res in reports[-1].results if res["stream"] == "input.x")
    assert last["baseline_end"] == last["window_end"] - 86400
    assert last["subwindows"] == 1  # one previous day
    hours = [k for k in store if "|h|" in k]
    assert hours and all(int(k.rsplit("|", 1)[1]) % SPEC.recent == 0 for k in hours)


def _one(model: str, ts: float, x: float = 1.0, **extra: object) -> dict:
    return {"model_id": model, "timestamp": ts, "input_data": {"x": x}, **extra}


NESTED = b'{"a":' * 600 + b"1" + b"}" * 600
DEEP = b'{"model_id":7,"input_data":{"a":1.0},"metadata":' + NESTED + b"}"  # the probe's record


def test_a_deeply_nested_record_is_rejected_and_its_neighbours_count():
    store = DictStore()
    proc = make(store)
    recs = [RawRecord(0, i, b"m1", orjson.dumps(_one("m1", 10.0 + i)), 0.0) for i in range(200)]
    recs.append(RawRecord(0, 200, b"m1", DEEP, 0.0))
    recs += [
        RawRecord(0, 201 + i, b"m1", orjson.dumps(_one("m1", 20.0 + i)), 0.0) for i in range(200)
    ]
    out = proc.process(recs, now=0.0)
    store.apply(out)
    assert out.counted["m1"] == 400 and _held(store) == 400
    assert [(r.record.offset, r.reason, r.counts) for r in out.rejected] == [
        (200, "too_deep", {"too_deep": 1})
    ]


class Exploding(Processor):
    """A processor with a bug that only an event with input ``boom`` triggers."""

    def _apply(self, rt, gathered, runs, out):  # type: ignore[no-untyped-def]
        if any("boom" in e.input_data for e in gathered.events):
            raise ZeroDivisionError("boom")
        super()._apply(rt, gathered, runs, out)


def test_a_record_that_fails_processing_is_dead_lettered_alone():
    store = DictStore()
    proc = Exploding(
        SPEC, DetectionPolicy(), Hysteresis(), HistogramSettings(), EventLimits(), store
    )
    good = [RawRecord(0, i, b"m1", orjson.dumps(_one("m1", 10.0 + i)), 0.0) for i in range(100)]
    out = proc.process(good[:50], now=0.0)
    store.apply(out)
    boom = orjson.dumps({**_one("m1", 70.0), "input_data": {"boom": 1}})
    poison = RawRecord(0, 100, b"m1", boom, 0.0)
    out = proc.process([*good[50:60], poison, *good[60:]], now=0.0)
    store.apply(out)
    assert [(r.record.offset, r.reason) for r in out.rejected] == [(100, "processing_error")]
    assert "ZeroDivisionError: boom" in out.rejected[0].error
    assert out.counted["m1"] == 50 and _held(store) == 100
    # the one-by-one pass saw its own earlier records: a replay of the batch adds nothing
    out = proc.process(good, now=0.0)
    store.apply(out)
    assert _held(store) == 100 and out.counted == {}


def test_event_time_is_bounded_by_the_record_time():
    store = DictStore()
    proc = Processor(
        SPEC,
        DetectionPolicy(),
        Hysteresis(),
        HistogramSettings(),
        EventLimits(),
        store,
        EventTimeBounds(max_future=300, max_age=4200),
    )
    now = 1_000_000.0
    far = RawRecord(0, 0, b"m1", orjson.dumps(_one("m1", 9_999_999_999)), now)
    zero = RawRecord(0, 1, b"m1", orjson.dumps(_one("m1", 0)), now)
    mixed = RawRecord(
        0,
        2,
        b"m1",
        orjson.dumps([_one("m1", now - 10), _one("m1", now + 301), _one("m1", now + 5)]),
        now,
    )
    out = proc.process([far, zero, mixed], now=0.0)
    store.apply(out)
    assert out.counted["m1"] == 2
    assert proc.models["m1"].meta.watermark == now + 5
    assert [(r.record.offset, r.counts) for r in out.rejected] == [
        (0, {"timestamp_in_future": 1}),
        (1, {"timestamp_too_old": 1}),
        (2, {"timestamp_in_future": 1}),
    ]
    # the DLQ copy of the mixed array holds only the refused event
    assert orjson.loads(out.rejected[2].dlq_value) == [_one("m1", now + 301)]
    assert out.rejected[0].dlq_value == far.value
    later = [
        RawRecord(0, 3 + i, b"m1", orjson.dumps(_one("m1", now + 10 + i)), now + 10 + i)
        for i in range(100)
    ]
    out = proc.process(later, now=0.0)
    assert out.counted["m1"] == 100 and not out.late


def test_dlq_copy_of_a_mixed_array_holds_only_the_bad_items():
    proc = make(DictStore())
    value = orjson.dumps([_one("m1", 1.0), {"model_id": "m1"}, _one("m1", 2.0), 5])
    out = proc.process([RawRecord(0, 0, b"m1", value, 0.0)], now=0.0)
    (rej,) = out.rejected
    assert rej.counts == {"missing_input_data": 1, "not_an_object": 1}
    assert orjson.loads(rej.dlq_value) == [{"model_id": "m1"}, 5]


def test_sparse_events_evaluate_a_bounded_number_of_windows():
    # 20 events 26 h apart: each one closed every window of the span before (300 per event
    # with 5-minute buckets); now an advance evaluates at most max_evaluations windows
    spec = WindowSpec(300, 3600, 86400, 60)
    proc = Processor(
        spec,
        DetectionPolicy(min_recent=1, min_baseline=1),
        Hysteresis(),
        HistogramSettings(),
        EventLimits(),
        DictStore(),
        max_evaluations=12,
    )
    evaluated = 0
    for i in range(20):
        ev = {
            "model_id": "m1",
            "timestamp": 1_790_000_000.0 + i * 26 * 3600,
            "input_data": {"a": 1.0, "b": 2.0, "c": 3.0},
            "prediction": 1.0,
            "confidence": 0.5,
        }
        out = proc.process([RawRecord(0, i, b"m1", orjson.dumps(ev), 0.0)], now=0.0)
        per_event = len(out.reports)
        assert per_event <= 12
        if i:  # the window holding the previous event is evaluated, not skipped
            before = spec.bucket_of(1_790_000_000.0 + (i - 1) * 26 * 3600) + spec.bucket
            assert out.reports[0].window_end == before
        evaluated += per_event
    assert evaluated <= 19 * 12
    assert proc.models["m1"].buckets.keys() == {spec.bucket_of(1_790_000_000.0 + 19 * 26 * 3600)}


def test_dense_data_has_every_window_evaluated_in_one_batch():
    # a backfill: one batch spanning many windows, each holding data, evaluates them all
    spec = WindowSpec(60, 600, 3600, 0)
    proc = Processor(
        spec,
        DetectionPolicy(min_recent=1, min_baseline=1),
        Hysteresis(),
        HistogramSettings(),
        EventLimits(),
        DictStore(),
        max_evaluations=4,
    )
    recs = [
        RawRecord(0, i, b"m1", orjson.dumps(_one("m1", 30.0 + 60 * i)), 0.0) for i in range(100)
    ]
    out = proc.process(recs, now=0.0)
    assert [r.window_end for r in out.reports] == [60 * (i + 1) for i in range(99)]


def test_the_same_event_id_counts_once_within_the_horizon():
    # an HTTP retry: the same event posted 3 times, stamped with 3 receive times by the API
    store = DictStore()
    proc = make(store)
    recs = [
        RawRecord(0, i, b"m1", orjson.dumps(_one("m1", 100.0 + 70 * i, event_id="e-1")), 0.0)
        for i in range(3)
    ]
    out = proc.process(recs[:1], now=0.0)
    store.apply(out)
    out = proc.process(recs[1:], now=0.0)
    store.apply(out)
    assert out.counted == {} and out.duplicates["m1"] == 2
    # and after a restart (state from the changelog), in one batch with a new id
    proc = make(store)
    again = RawRecord(
        0,
        3,
        b"m1",
        orjson.dumps(
            [
                _one("m1", 100.0, event_id="e-1"),
                _one("m1", 101.0, event_id="e-2"),
                _one("m1", 102.0, event_id="e-2"),
            ]
        ),
        0.0,
    )
    out = proc.process([again], now=0.0)
    store.apply(out)
    assert out.counted["m1"] == 1 and out.duplicates["m1"] == 2
    assert _held(store) == 2


def test_event_ids_are_let_go_beyond_the_horizon():
    store = DictStore()
    proc = Processor(
        SPEC,
        DetectionPolicy(),
        Hysteresis(),
        HistogramSettings(),
        EventLimits(),
        store,
        dedup=DedupSettings(horizon=120),
    )
    out = proc.process(
        [RawRecord(0, 0, b"m1", orjson.dumps(_one("m1", 10.0, event_id="a")), 0.0)], now=0.0
    )
    store.apply(out)
    assert len(BucketRecord.from_bytes(store[bucket_key("m1", 0)]).ids) == 1
    out = proc.process([RawRecord(0, 1, b"m1", orjson.dumps(_one("m1", 400.0)), 0.0)], now=0.0)
    store.apply(out)
    assert len(BucketRecord.from_bytes(store[bucket_key("m1", 0)]).ids) == 0


def test_control_commands_respect_the_model_cap_and_idle_models_are_evicted():
    store = DictStore()
    proc = Processor(
        SPEC, DetectionPolicy(), Hysteresis(), HistogramSettings(max_models=2), EventLimits(), store
    )
    out = proc.process([RawRecord(0, 0, b"m1", orjson.dumps(_one("m1", 10.0)), 0.0)], now=0.0)
    store.apply(out)
    thresholds = {"action": "set_thresholds", "thresholds": {"*": {"psi": 0.3}}}
    store.apply(proc.control(0, {**thresholds, "model_id": "junk-1"}, now=1.0))
    assert proc.control(0, {**thresholds, "model_id": "junk-2"}, now=0.0).writes == {}
    assert proc.control(0, {**thresholds, "model_id": "bad id|b|0"}, now=0.0).writes == {}
    assert sorted(proc.models) == ["junk-1", "m1"]
    out = proc.process([RawRecord(0, 1, b"m2", orjson.dumps(_one("m2", 10.0)), 0.0)], now=0.0)
    assert [r.reason for r in out.rejected] == ["too_many_models"]
    # a week later m1 sent again, junk-1 never: junk-1's state goes, m2 fits
    store.apply(
        proc.process([RawRecord(0, 2, b"m1", orjson.dumps(_one("m1", 20.0)), 0.0)], now=7 * 86400.0)
    )
    out = proc.evict_idle(now=7 * 86400.0 + 1, idle_seconds=7 * 86400.0)
    store.apply(out)
    assert out.evicted == ["junk-1"] and not any(k.startswith("junk-1|") for k in store)
    out = proc.process([RawRecord(0, 3, b"m2", orjson.dumps(_one("m2", 10.0)), 0.0)], now=0.0)
    assert out.counted["m2"] == 1 and not out.rejected


@pytest.mark.parametrize("command", [[1], "pin", 7, None, {"action": "pin_baseline"}])
def test_a_malformed_control_command_is_ignored(command):
    proc = make(DictStore())
    assert proc.control(0, command, now=1.0).writes == {} and not proc.models


def test_the_inference_log_sink_applies_the_same_event_time_bound():
    from sinks.writers import InferenceLogWriter

    writer = InferenceLogWriter(time_bounds=(300.0, 4200.0))
    assert writer._in_bounds(1_000.0, 1_000.0) and writer._in_bounds(None, 1_000.0)
    assert not writer._in_bounds(9_999_999_999.0, 1_000_000.0)
    assert not writer._in_bounds(0.0, 1_000_000.0)
    assert InferenceLogWriter(time_bounds=(300.0, 0.0))._in_bounds(0.0, 1_000_000.0)  # 0: none


def test_an_evicted_model_leaves_no_series():
    from prometheus_client import CollectorRegistry

    from stream_app.metrics import WorkerMetrics

    rng = np.random.default_rng(11)
    store = DictStore()
    proc = make(store)
    registry = CollectorRegistry()
    metrics = WorkerMetrics(registry, max_series_models=5)

    def series() -> set[str]:
        return {
            s.name
            for f in registry.collect()
            for s in f.samples
            if s.labels.get("model_id") == "m1"
        }

    metrics.observe(proc.process(records(0, 900, 2, 0.0, rng, 0), now=1.0), {}, 0.0)
    assert {"drift_events_total", "drift_psi", "drift_window_events"} <= series()
    metrics.observe(proc.evict_idle(now=100.0, idle_seconds=50.0), {}, 0.0)
    assert registry.get_sample_value("drift_model_slots", {"state": "total"}) == 5
    assert series() == set()


def _quality_records(t0: float, seconds: int, rng, offset0: int, broken: bool) -> list[RawRecord]:
    """Two inputs a day long: ``x`` numeric, ``country`` categorical, and ``y`` that never
    changes; ``broken``: x goes missing in 20% of events and country gains a new value."""
    out, offset = [], offset0
    times = np.repeat(np.arange(t0, t0 + seconds), 2) + 0.5
    for i in range(0, len(times), 10):
        batch = []
        for t in times[i : i + 10]:
            x: float | None = float(rng.normal())
            country = str(rng.choice(["DE", "FR", "US"]))
            if broken and rng.random() < 0.2:
                x = None
            if broken and rng.random() < 0.1:
                country = "XX"
            batch.append(
                {
                    "model_id": "m1",
                    "timestamp": float(t),
                    "input_data": {"x": x, "country": country, "y": float(rng.normal())},
                }
            )
        out.append(RawRecord(0, offset, b"m1", orjson.dumps(batch), 0.0))
        offset += 1
    return out


def test_missing_values_and_a_new_category_are_quality_issues_of_exactly_those_streams():
    rng = np.random.default_rng(4)
    store = DictStore()
    proc = make(store)
    calm = _quality_records(0, 4200, rng, 0, broken=False)
    broken = _quality_records(4200, 900, rng, len(calm), broken=True)
    reports = run(proc, store, calm + broken)
    results = [res for r in reports for res in r.results]
    calm_issues = {
        (res.stream, i)
        for res in results
        if res.window_end <= 4200 and res.quality
        for i in res.quality["issues"]
    }
    assert calm_issues == set()
    # the first window wholly after the change (its baseline still clean)
    last = {res.stream: res.quality for res in results if res.window_end == 4200 + 600}
    assert last["input.x"]["issues"] == ["missing"]
    assert last["input.x"]["missing_share"] == pytest.approx(0.2, abs=0.04)
    assert last["input.country"]["issues"] == ["new_category"]
    assert last["input.country"]["new_category_share"] == pytest.approx(0.1, abs=0.03)
    assert last["input.y"]["issues"] == []
    # the results carry it to the sinks as they carry the verdict
    assert orjson.loads(orjson.dumps(results[-1]))["quality"] == results[-1].quality


def test_data_quality_is_not_judged_when_turned_off():
    rng = np.random.default_rng(4)
    store = DictStore()
    proc = make(store)
    proc.detection = replace(DetectionSettings(), quality=None)
    reports = run(proc, store, _quality_records(0, 1200, rng, 0, broken=True))
    assert reports and all(res.quality is None for r in reports for res in r.results)
