"""Property: whatever the mix and order of valid, late, early (future), duplicate (the same
event_id again, the same record delivered again) and poison records, the processor counts
exactly the valid distinct events inside the retained span, and never raises."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift import DetectionPolicy, EventLimits, Hysteresis
from stream_app.processor import (
    EventTimeBounds,
    HistogramSettings,
    Processor,
    RawRecord,
)
from stream_app.state import BucketRecord
from stream_app.windows import WindowSpec

pytestmark = pytest.mark.unit

SPEC = WindowSpec(bucket=60, recent=600, baseline=3600, lateness=0)
SPAN = SPEC.recent + SPEC.baseline
T = 1_000_020.0  # first valid event time
BROKER = T + 2000  # broker time of every record: valid times T .. T + 2000 lie within bounds
NESTED = b'{"a":' * 600 + b"1" + b"}" * 600


class Exploding(Processor):
    """A processor with a bug that only an event with input ``boom`` triggers."""

    def _apply(self, rt, gathered, runs, out):  # type: ignore[no-untyped-def]
        if any("boom" in e.input_data for e in gathered.events):
            raise ZeroDivisionError("boom")
        super()._apply(rt, gathered, runs, out)


class DictStore(dict[str, bytes]):
    def apply(self, writes: dict[str, tuple[int, bytes | None]]) -> None:
        for key, (_, value) in writes.items():
            if value is None:
                self.pop(key, None)
            else:
                self[key] = value


def make(store: DictStore) -> Processor:
    return Exploding(
        SPEC,
        DetectionPolicy(min_recent=5, min_baseline=5),
        Hysteresis(),
        HistogramSettings(),
        EventLimits(),
        store,
        EventTimeBounds(max_future=300, max_age=SPAN),
        max_evaluations=4,
    )


KINDS = ["valid", "valid_no_id", "duplicate", "late", "early", "deep"]

item = st.tuples(
    st.sampled_from(KINDS), st.sampled_from(["m1", "m2"]), st.floats(0, 2000), st.integers(0, 10**6)
)
record = st.one_of(
    st.tuples(st.just("array"), st.lists(item, min_size=1, max_size=6)),
    st.tuples(st.just("single"), item.map(lambda i: [i])),
    st.tuples(st.just("boom"), st.just([])),
    st.tuples(st.just("bad_json"), st.just([])),
)


def build(drawn: list[tuple[str, list[Any]]]) -> tuple[list[bytes], int]:
    """Record values and the expected count of valid distinct events."""
    values: list[bytes] = []
    ids: dict[str, list[tuple[str, float]]] = {"m1": [], "m2": []}  # valid ids per model
    counted: set[tuple[str, str]] = set()
    expected = 0
    for shape, items in drawn:
        if shape == "boom":
            body = {
                "model_id": "m1",
                "timestamp": T,
                "input_data": {"boom": 1.0},
                "event_id": "boom",
            }
            values.append(orjson.dumps(body))
            continue
        if shape == "bad_json":
            values.append(b"{not json")
            continue
        parts: list[bytes] = []
        for kind, model, dt, n in items:
            ts = T + dt
            body: dict[str, Any] = {"model_id": model, "timestamp": ts, "input_data": {"x": dt}}
            if kind == "valid":
                body["event_id"] = f"{model}-{n}"
                ids[model].append((body["event_id"], ts))
            elif kind == "duplicate":
                if not ids[model]:
                    kind = "valid_no_id"
                else:  # the same event again (a retry), possibly stamped another time
                    body["event_id"] = ids[model][n % len(ids[model])][0]
            elif kind == "late":
                body["timestamp"] = BROKER - SPAN - 1 - dt
            elif kind == "early":
                body["timestamp"] = BROKER + 301 + dt
            if kind == "deep":
                part = orjson.dumps(body)[:-1] + b',"metadata":' + NESTED + b"}"
            else:
                part = orjson.dumps(body)
            parts.append(part)
            if kind == "valid_no_id":
                expected += 1
            elif kind in ("valid", "duplicate") and (model, body["event_id"]) not in counted:
                counted.add((model, body["event_id"]))
                expected += 1
        values.append(parts[0] if shape == "single" else b"[" + b",".join(parts) + b"]")
    return values, expected


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    drawn=st.lists(record, min_size=1, max_size=25),
    redeliver=st.lists(st.integers(0, 10**6), max_size=10),
    cuts=st.lists(st.integers(0, 10**6), max_size=6),
    restarts=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_counts_equal_the_valid_distinct_events(drawn, redeliver, cuts, restarts):
    values, expected = build(drawn)
    records = [RawRecord(0, i, b"m1", v, BROKER) for i, v in enumerate(values)]
    # the same records delivered again later (a replay after a crash, a rebalance)
    stream = list(records)
    for r in redeliver:
        stream.insert(r % (len(stream) + 1), records[r % len(records)])
    bounds = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    store = DictStore()
    proc = make(store)
    total = 0
    for k, (a, b) in enumerate(pairwise(bounds)):
        if restarts[k % len(restarts)]:
            proc = make(store)  # a restarted worker: state only from the store
        out = proc.process(stream[a:b], now=0.0)
        store.apply(out.writes)
        total += sum(out.counted.values())
        assert all(r.reason for r in out.rejected)
    held = sum(
        BucketRecord.from_bytes(v).hists["input.x"].count
        for key, v in store.items()
        if "|b|" in key
    )
    assert total == expected == held
