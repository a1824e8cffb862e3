"""Columnar records through the processor: the same events as rows or as columns give the same
state, counts, results and refusals (docs/architecture.md, "Event contract")."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from drift import DetectionPolicy, EventLimits, Hysteresis, decode_record
from producers.records import columnar, with_binary_columns
from stream_app.processor import (
    EventTimeBounds,
    HistogramSettings,
    Processor,
    RawRecord,
)
from stream_app.windows import WindowSpec
from tests.unit.stream_app.test_processor import DictStore

pytestmark = pytest.mark.unit

SPEC = WindowSpec(bucket=60, recent=600, baseline=3600, lateness=0)
T0 = 1.79e9


def make(store: DictStore) -> Processor:
    return Processor(
        SPEC,
        DetectionPolicy(min_recent=50, min_baseline=300),
        Hysteresis(1, 2),
        HistogramSettings(),
        EventLimits(),
        store,
        event_time=EventTimeBounds(max_future=300.0),
    )


def events(model: str, seconds: int, per_record: int, rng: np.random.Generator) -> list[list]:
    """Per record a list of row events: numeric and categorical inputs, object predictions,
    confidence, some explicit (and some repeated) event ids, some without a time."""
    out = []
    times = T0 + np.sort(rng.uniform(0, seconds, seconds // 2))
    shift = np.where(times > T0 + seconds * 0.8, 1.5, 0.0)
    for i in range(0, len(times) - per_record + 1, per_record):
        record = []
        for k in range(i, i + per_record):
            event = {
                "model_id": model,
                "timestamp": None if k % 17 == 0 else float(times[k]),
                "input_data": {
                    "x": float(rng.normal(shift[k])),
                    "n": int(rng.integers(0, 5)),
                    "colour": ["red", "blue", "green"][k % 3] if k % 5 else None,
                },
                "prediction": {"label": "yes" if rng.random() > 0.5 else "no", "p": rng.random()},
                "confidence": None if k % 7 == 0 else float(rng.random()),
            }
            if k % 4 == 0:
                event["event_id"] = f"id-{k // 8}"  # every other one repeats: a duplicate
            record.append(event)
        out.append(record)
    return out


def raw(
    model: str, records: list[list], as_columns: list[bool | str], offset0: int
) -> list[RawRecord]:
    """Per record: rows (False), array columns (True) or binary columns ("binary")."""
    out = []
    for j, (evs, col) in enumerate(zip(records, as_columns, strict=True)):
        if col == "binary":
            value = orjson.dumps(with_binary_columns(columnar(model, evs) or {}))
        else:
            value = orjson.dumps(columnar(model, evs) if col else evs)
        broker = max(e["timestamp"] or 0.0 for e in evs) + 1.0
        out.append(RawRecord(0, offset0 + j, model.encode(), value, broker))
    return out


def run(recs: list[RawRecord], chunk: int) -> tuple[DictStore, dict, list]:
    store = DictStore()
    proc = make(store)
    counts: dict[str, int] = {"counted": 0, "duplicates": 0, "late": 0, "replayed": 0}
    results = []
    for i in range(0, len(recs), chunk):
        out = proc.process(recs[i : i + chunk], now=0.0)
        store.apply(out)
        counts["counted"] += sum(out.counted.values())
        counts["duplicates"] += sum(out.duplicates.values())
        counts["late"] += sum(out.late.values())
        counts["replayed"] += out.replayed
        assert not out.rejected
        results.extend((r.results, r.alerts) for r in out.reports)
    return store, counts, results


@pytest.mark.parametrize("per_record", [1, 10])
def test_rows_and_columns_give_the_same_state_counts_and_results(per_record):
    rng = np.random.default_rng(3)
    recs = events("m1", 5400, per_record, rng)
    n = len(recs)
    rows = raw("m1", recs, [False] * n, 0)
    cols = raw("m1", recs, [True] * n, 0)
    mixed = raw("m1", recs, [j % 3 == 0 for j in range(n)], 0)
    binary = raw("m1", recs, ["binary"] * n, 0)
    assert b'"f8"' in binary[0].value
    all_three = raw("m1", recs, [(False, True, "binary")[j % 3] for j in range(n)], 0)
    replayed = rows[:40] + rows[20:]  # a replay of offsets the state already holds
    base_store, base_counts, base_results = run(rows, 50)
    assert base_counts["counted"] > 500 and base_counts["duplicates"] > 0
    assert any(r for r, _ in base_results) and any(a for _, a in base_results)
    for variant in (cols, mixed, binary, all_three):
        assert run(variant, 50) == (base_store, base_counts, base_results)
    assert run(cols, 7) == run(rows, 7)  # other chunks: other offset spans, same otherwise
    columns_replayed = cols[:40] + cols[20:]
    assert run(columns_replayed, 50)[:2] == run(replayed, 50)[:2]


def test_a_partly_valid_columnar_record_dead_letters_only_its_refused_rows():
    good = {"model_id": "m1", "input_data": {"x": 1.0}, "prediction": "a"}
    evs = [
        {**good, "timestamp": T0},
        {**good, "timestamp": T0, "confidence": 2.0},  # bad_confidence
        {**good, "timestamp": T0 + 10_000},  # timestamp_in_future
        {**good, "timestamp": T0, "input_data": {"x": True}},  # a boolean: categorical
    ]
    outs = []
    as_columns = columnar("m1", evs) or {}
    encodings = (
        orjson.dumps(evs),
        orjson.dumps(as_columns),
        orjson.dumps(with_binary_columns(as_columns)),
    )
    for value in encodings:
        proc = make(DictStore())
        outs.append(proc.process([RawRecord(0, 5, b"m1", value, T0 + 1)], now=0.0))
    as_rows, as_columns, as_binary = outs
    assert dict(as_columns.counted) == dict(as_rows.counted) == {"m1": 2}
    assert dict(as_binary.counted) == {"m1": 2}
    [bin_rej] = as_binary.rejected
    assert (bin_rej.reason, bin_rej.error, bin_rej.counts, bin_rej.dlq_value) == (
        as_columns.rejected[0].reason,
        as_columns.rejected[0].error,
        as_columns.rejected[0].counts,
        as_columns.rejected[0].dlq_value,
    )
    [rows_rej], [cols_rej] = as_rows.rejected, as_columns.rejected
    assert cols_rej.reason == rows_rej.reason == "bad_confidence,timestamp_in_future"
    assert cols_rej.counts == rows_rej.counts
    assert cols_rej.error == rows_rej.error
    copy = orjson.loads(cols_rej.dlq_value)  # a columnar record of only the refused rows
    assert copy["columns"]["confidence"] == [2.0, None]
    assert copy["columns"]["timestamp"] == [T0, T0 + 10_000]
    replay = decode_record(cols_rej.dlq_value)
    assert not replay.events or all(e.timestamp == T0 + 10_000 for e in replay.events)


def test_whole_record_problems_of_a_columnar_record_count_once():
    proc = make(DictStore())
    bad = [
        {"model_id": "m1", "columns": {"input.x": [1.0, 2.0], "timestamp": [T0]}},
        {"model_id": "m1", "columns": {"input.x": [1.0], "weird": [1]}},
        {"model_id": "m 1", "columns": {"input.x": [1.0, 2.0]}},
        {"model_id": "m1", "columns": {"prediction": ["a"]}},
    ]
    recs = [RawRecord(0, i, b"m1", orjson.dumps(b), T0) for i, b in enumerate(bad)]
    out = proc.process(recs, now=0.0)
    assert [r.reason for r in out.rejected] == [
        "bad_columns",
        "bad_columns",
        "bad_model_id",
        "bad_columns",
    ]
    assert all(r.counts == {r.reason: 1} and r.value is None for r in out.rejected)
    assert "differ in length (1, 2)" in out.rejected[0].error
    assert "unknown column 'weird'" in out.rejected[1].error
    assert not out.counted


def test_a_poll_of_single_event_records_equals_one_columnar_record_of_them():
    """One-event records sent as a JSON object (the SDK's form: ``decode_event``, the hot
    path), as one-element arrays and gathered into one columnar record per poll count and
    judge alike; events with a categorical input take the flat tier, a new model's first
    record and an event out of the time bounds the general path."""
    rng = np.random.default_rng(5)
    recs = events("m1", 5400, 1, rng)
    for j, (event,) in enumerate(recs):
        if j % 2:  # numeric inputs only: the numeric tier with shared input names
            event["input_data"] = {"x": event["input_data"]["x"], "n": float(j % 5)}
    n = len(recs)
    arrays = raw("m1", recs, [False] * n, 0)
    objects = [
        RawRecord(r.partition, r.offset, r.key, orjson.dumps(evs[0]), r.timestamp)
        for r, evs in zip(arrays, recs, strict=True)
    ]
    assert objects[0].value.startswith(b"{")
    polls = [
        RawRecord(0, j, b"m1", orjson.dumps(columnar("m1", [e for (e,) in recs[j : j + 50]])), 0.0)
        for j in range(0, n, 50)
    ]
    store, counts, results = run(objects, 50)
    assert counts["counted"] > 500 and counts["duplicates"] > 0 and results
    assert run(arrays, 50) == (store, counts, results)
    _, columnar_counts, columnar_results = run(polls, 1)
    assert columnar_counts == {**counts, "replayed": columnar_counts["replayed"]}
    assert columnar_results == results
