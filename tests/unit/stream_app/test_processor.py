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


def test_expired_events_are_counted_late_and_dropped():
    rng = np.random.default_rng(3)
    store = DictStore()
    proc = make(store)
    run(proc, store, records(10_000, 120, 1, 0.0, rng, 0))
    out = proc.process(records(0, 10, 1, 0.0, rng, 500), now=0.0)
    assert out.late["m1"] == 10
    assert bucket_key("m1", 0) not in out.writes
