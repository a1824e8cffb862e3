"""``Processor.process`` alone (no Kafka, no faust): the worker's own ceiling per record format.

Feeds one processor batches of raw records (4 models, 20 numeric inputs, event time 100
events/s per model) as the Kafka loop would hand them over, and prints inferences/s at 1 and
500 inferences per record, as rows (one event / a JSON array) and as columnar records.
``--profile FILE`` writes a cProfile of the 1-per-record columnar run. Prints figures;
asserts nothing. Run: ``python bench/bench_processor.py [--seconds 3]``.
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import time
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drift import DetectionPolicy, EventLimits, Hysteresis
from stream_app.processor import (
    EventTimeBounds,
    HistogramSettings,
    Output,
    Processor,
    RawRecord,
)
from stream_app.windows import WindowSpec

INPUTS, MODELS, T0 = 20, 4, 1_790_000_000.0


class Store(dict[str, bytes]):
    def apply(self, out: Output) -> None:
        for key, (_, value) in out.writes.items():
            if value is None:
                self.pop(key, None)
            else:
                self[key] = value


def value(model: str, x: np.ndarray, ts: float, columnar: bool) -> bytes:
    if columnar:
        columns = {f"input.f{i}": x[:, i].tolist() for i in range(INPUTS)}
        return orjson.dumps({"model_id": model, "columns": {"timestamp": [ts] * len(x), **columns}})
    events = [
        {"model_id": model, "timestamp": ts, "input_data": dict(zip(NAMES, row, strict=True))}
        for row in x.tolist()
    ]
    return orjson.dumps(events[0] if len(events) == 1 else events)


NAMES = [f"f{i}" for i in range(INPUTS)]


def batches(per_record: int, columnar: bool, n_batches: int, batch_events: int) -> list:
    """Lists of RawRecords, ``batch_events`` inferences each (one Kafka poll's worth)."""
    rng = np.random.default_rng(0)
    per_batch = max(1, batch_events // per_record)
    out, offset = [], 0
    for _ in range(n_batches):
        batch = []
        for _ in range(per_batch):
            model = f"model-{offset % MODELS}"
            ts = T0 + (offset // MODELS) * per_record * 0.01
            x = rng.normal(0.0, 1.0, (per_record, INPUTS)).round(4)
            batch.append(RawRecord(0, offset, model.encode(), value(model, x, ts, columnar), ts))
            offset += 1
        out.append(batch)
    return out


def processor(store: Store) -> Processor:
    return Processor(
        WindowSpec(bucket=300, recent=3600, baseline=6 * 3600, lateness=60),
        DetectionPolicy(),
        Hysteresis(2, 3),
        HistogramSettings(),
        EventLimits(),
        store,
        event_time=EventTimeBounds(max_future=300.0, max_age=0.0),
    )


def rate(per_record: int, columnar: bool, seconds: float, profile: str = "") -> float:
    """Inferences/s of ``Processor.process`` over about ``seconds`` of batches."""
    batch_events = 500 if per_record == 1 else 5000
    runs = batches(per_record, columnar, 200 if per_record == 1 else 40, batch_events)
    store = Store()
    proc = processor(store)
    profiler = cProfile.Profile() if profile else None
    done, start = 0, time.perf_counter()
    if profiler:
        profiler.enable()
    for batch in runs:
        out = proc.process(batch, now=time.time())
        store.apply(out)
        done += sum(out.counted.values())
        if time.perf_counter() - start > seconds:
            break
    elapsed = time.perf_counter() - start
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    return done / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--profile", default="", help="cProfile file of 1/record columnar")
    args = parser.parse_args()
    for per_record in (1, 500):
        rows = rate(per_record, False, args.seconds)
        cols = rate(per_record, True, args.seconds)
        print(
            f"Processor.process {per_record:>3}/record: rows {rows:>10,.0f} inferences/s  "
            f"columnar {cols:>10,.0f} inferences/s  ({cols / rows:.2f}x)"
        )
    if args.profile:
        rate(1, True, args.seconds, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
