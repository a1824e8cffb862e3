"""The processor's logic without a broker: buckets, windows, replay skipping, evaluation."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from drift import DetectionPolicy, EventLimits, Hysteresis
from stream_app.processor import HistogramSettings, Output, Processor, RawRecord
from stream_app.state import BucketRecord, bucket_key
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
    assert out.baselines == [{"action": "unpin", "model_id": "m1"}]
    assert not proc.models["m1"].meta.pinned


def _make_with(store: DictStore, detection) -> Processor:
    return Processor(
        SPEC,
        DetectionPolicy(min_recent=100, min_baseline=1000),
        Hysteresis(2, 2),
        HistogramSettings(),
        EventLimits(),
        store,
        detection,
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
