"""``Processor.process`` alone (no Kafka, no faust): the worker's own ceiling per record format.

Feeds one processor batches of raw records (4 models, 20 numeric inputs, event time 100
events/s per model) as the Kafka loop would hand them over, and prints inferences/s at 1 and
500 inferences per record, as rows (one event / a JSON array), as columnar records and with
binary columns; then at 1 and 100 per record with one 384-dimension embedding per inference
beside the same runs without, and the evaluation time of one model (20 inputs) with and without
an embedding stream.
``--multivariate`` instead runs 1 and 500 per record (rows and columnar) with the
``multivariate`` stream on and off (the default) in turn, ``--repeat`` times, and prints the
medians and the evaluation time of one model with and without a ``multivariate`` stream.
``--sizes 1,4,16,64`` sets the record sizes of the format runs (the SDK's crossover); ``--ids``
runs each also with an explicit event id per inference. ``--profile FILE`` writes a cProfile
of the 1-per-record columnar run. ``--ceilings`` instead bounds what a faster numeric tally
could give: at 500 per record (binary columns) and 1 per record (rows), interleaved
``--repeat`` times, the whole ``Processor.process``, the same with the numeric streams' tally
and merges costing nothing (nothing counted into them), and decoding alone (msgspec and
pybase64, both compiled); then the tally's cost a value beside its logarithm's, and an event
id's hash copied from one blake2b beside a new one per id. Prints figures; asserts nothing.
Run: ``python bench/bench_processor.py [--seconds 3]``.
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import time
import timeit
from collections.abc import Callable
from hashlib import blake2b
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drift import DetectionPolicy, EventLimits, Hysteresis, NumericHistogram
from drift.bins import Subwindows
from drift.columnar_wire import decode_columns
from drift.evaluate import StreamWindows, decide, measure_model
from drift.histogram_block import tally_block
from drift.mapping import LogMapping
from drift.wire import decode_event
from producers.records import binary_column, binary_vectors
from stream_app import counting
from stream_app.assembly import chunks
from stream_app.config import WorkerSettings
from stream_app.processor import (
    EventTimeBounds,
    HistogramSettings,
    Output,
    Processor,
    RawRecord,
)
from stream_app.state import id_digests
from stream_app.tuning import VectorSettings
from stream_app.vector_state import MULTIVARIATE, deltas
from stream_app.windows import WindowSpec

INPUTS, MODELS, T0 = 20, 4, 1_790_000_000.0


class Store(dict[str, bytes]):
    def apply(self, out: Output) -> None:
        for key, (_, value) in out.writes.items():
            if value is None:
                self.pop(key, None)
            else:
                self[key] = value


def value(
    model: str,
    x: np.ndarray,
    ts: float,
    columnar: bool | str,
    vectors: np.ndarray | None = None,
    ids: list[str] | None = None,
) -> bytes:
    """One record: rows (``columnar`` False), array columns (True) or binary columns
    ("binary": numbers as base64 float64, the SDK's default); ``ids``: explicit event ids."""
    if columnar:
        columns: dict[str, object] = {f"input.f{i}": x[:, i].tolist() for i in range(INPUTS)}
        ids_column = {"event_id": ids} if ids is not None else {}  # after the times, as the SDK
        columns = {"timestamp": [ts] * len(x), **ids_column, **columns}
        if columnar == "binary":
            columns = {k: binary_column(v) for k, v in columns.items()}  # type: ignore[arg-type]
        if vectors is not None:
            held = vectors.tolist()
            columns["embedding.text"] = binary_vectors(held) if columnar == "binary" else held
        return orjson.dumps({"model_id": model, "columns": columns})
    events = [
        {"model_id": model, "timestamp": ts, "input_data": dict(zip(NAMES, row, strict=True))}
        for row in x.tolist()
    ]
    if vectors is not None:
        for event, v in zip(events, vectors.tolist(), strict=True):
            event["embeddings"] = {"text": v}
    for event, eid in zip(events, ids or [], strict=False):
        event["event_id"] = eid
    return orjson.dumps(events[0] if len(events) == 1 else events)


NAMES = [f"f{i}" for i in range(INPUTS)]


def batches(
    per_record: int,
    columnar: bool | str,
    n_batches: int,
    batch_events: int,
    dim: int = 0,
    ids: bool = False,
) -> list:
    """Lists of RawRecords, ``batch_events`` inferences each (one Kafka poll's worth); ``dim``:
    one embedding of that many dimensions per inference (0: none); ``ids``: an explicit event
    id per inference, unique (as the SDK's uuids)."""
    rng = np.random.default_rng(0)
    per_batch = max(1, batch_events // per_record)
    out: list[list[RawRecord]] = []
    offset = 0
    for _ in range(n_batches):
        batch = []
        for _ in range(per_batch):
            model = f"model-{offset % MODELS}"
            ts = T0 + (offset // MODELS) * per_record * 0.01
            x = rng.normal(0.0, 1.0, (per_record, INPUTS)).round(4)
            v = rng.normal(0.0, 0.05, (per_record, dim)).round(4) if dim else None
            # 32 hex digits, unique, as the SDK's uuid4().hex
            names = [f"{offset:016x}{i:016x}" for i in range(per_record)] if ids else None
            raw = value(model, x, ts, columnar, v, names)
            batch.append(RawRecord(0, offset, model.encode(), raw, ts))
            offset += 1
        # as the worker hands a poll over: in chunks of at most 4 MB of record values
        out.extend(chunks(batch, WorkerSettings.model_fields["batch_max_bytes"].default))
    return out


def processor(store: Store, multivariate: bool = False) -> Processor:
    return Processor(
        WindowSpec(bucket=300, recent=3600, baseline=6 * 3600, lateness=60),
        DetectionPolicy(),
        Hysteresis(2, 3),
        HistogramSettings(),
        EventLimits(),
        store,
        event_time=EventTimeBounds(max_future=300.0, max_age=0.0),
        vectors=VectorSettings(multivariate=multivariate),
    )


def feed(per_record: int, columnar: bool | str, dim: int = 0, ids: bool = False) -> list:
    """The batches ``rate`` times: a poll's worth each, the worker's 2,000 records
    (``batch_size``) at one event per record, at 500 a poll of 80 records, cut into 4 MB
    chunks by ``batches`` (~36 binary records each)."""
    batch_events = min(2000 * per_record, 40_000)
    n = 50 if per_record == 1 else 10
    if dim:  # 384 floats an inference: one 4 MB chunk of the worker holds ~1,250 of them
        batch_events, n = 1250, 40
    return batches(per_record, columnar, n, batch_events, dim, ids)


def rate(
    per_record: int,
    columnar: bool | str,
    seconds: float,
    profile: str = "",
    dim: int = 0,
    multivariate: bool = False,
    ids: bool = False,
) -> float:
    """Inferences/s of ``Processor.process`` over about ``seconds`` of batches."""
    runs = feed(per_record, columnar, dim, ids)
    store = Store()
    proc = processor(store, multivariate)
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
    parser.add_argument("--dim", type=int, default=384, help="embedding dimensions")
    parser.add_argument(
        "--multivariate", action="store_true", help="instead: with and without multivariate"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs of each (--multivariate)")
    parser.add_argument(
        "--sizes", default="1,500", help="inferences per record of the format runs, e.g. 1,4,16,64"
    )
    parser.add_argument(
        "--ids", action="store_true", help="the format runs also with an event id per inference"
    )
    parser.add_argument(
        "--ceilings", action="store_true", help="instead: the rate without the numeric tally"
    )
    args = parser.parse_args()
    if args.multivariate:
        return multivariate_cost(args.seconds, args.repeat)
    if args.ceilings:
        return ceilings(args.seconds, min(args.repeat, 3))
    for per_record in map(int, args.sizes.split(",")):
        for ids in (False, True) if args.ids else (False,):
            rows = rate(per_record, False, args.seconds, ids=ids)
            cols = rate(per_record, True, args.seconds, ids=ids)
            binary = rate(per_record, "binary", args.seconds, ids=ids)
            print(
                f"Processor.process {per_record:>3}/record{' with ids' if ids else ''}: rows "
                f"{rows:>10,.0f} inferences/s  columnar {cols:>10,.0f} inferences/s  "
                f"({cols / rows:.2f}x)  binary columns {binary:>10,.0f} inferences/s  "
                f"({binary / rows:.2f}x)"
            )
    for per_record in (1, 100):
        plain = rate(per_record, False, args.seconds)
        vec = rate(per_record, False, args.seconds, dim=args.dim)
        cols = rate(per_record, True, args.seconds, dim=args.dim)
        binary = rate(per_record, "binary", args.seconds, dim=args.dim)
        print(
            f"Processor.process {per_record:>3}/record: no embedding {plain:>9,.0f}/s  "
            f"{args.dim}-dim embedding: rows {vec:>8,.0f}/s ({vec / plain:.2f}x)  "
            f"columnar {cols:>8,.0f}/s  binary columns {binary:>8,.0f}/s ({binary / plain:.2f}x)"
        )
    plain_ms, vec_ms = evaluation_ms(0), evaluation_ms(args.dim)
    print(
        f"evaluation of one model (20 inputs, 24 sub-windows): {plain_ms:.1f} ms; with a "
        f"{args.dim}-dim embedding stream (K=16 projections): {vec_ms:.1f} ms"
    )
    if args.profile:
        rate(1, True, args.seconds, args.profile)
    return 0


def multivariate_cost(seconds: float, repeat: int) -> int:
    """Inferences/s with ``multivariate`` on and off, interleaved, ``repeat`` times each."""
    print(f"load average {Path('/proc/loadavg').read_text().strip()}")
    for per_record in (1, 500):
        for columnar in (False, True):
            on, off = [], []
            for _ in range(repeat):
                on.append(rate(per_record, columnar, seconds, multivariate=True))
                off.append(rate(per_record, columnar, seconds, multivariate=False))
            mon, moff = float(np.median(on)), float(np.median(off))
            fmt = "columnar" if columnar else "rows"
            print(
                f"Processor.process {per_record:>3}/record {fmt:8}: multivariate on "
                f"{mon:>9,.0f}/s  off {moff:>9,.0f}/s  ({mon / moff:.2f}x; medians of "
                f"{repeat}, on {min(on):,.0f}-{max(on):,.0f}, off {min(off):,.0f}-{max(off):,.0f})"
            )
    with_mv, without = [], []
    for _ in range(repeat):
        with_mv.append(evaluation_ms(0, multivariate=True))
        without.append(evaluation_ms(0))
    print(
        f"evaluation of one model (20 inputs, 24 sub-windows): {np.median(without):.1f} ms; "
        f"with a multivariate stream (16 inputs, cross products, K=16): "
        f"{np.median(with_mv):.1f} ms (medians of {repeat})"
    )
    print(f"load average {Path('/proc/loadavg').read_text().strip()}")
    return 0


def decode_rate(per_record: int, columnar: bool | str, seconds: float) -> float:
    """Inferences/s of decoding alone: ``decode_columns`` (columnar) or ``decode_event`` (one
    event a record), the gathering's first step, over the records ``rate`` feeds."""
    runs = feed(per_record, columnar)
    decode = decode_columns if columnar else decode_event
    limits = EventLimits()
    done, start = 0, time.perf_counter()
    for batch in runs:
        for rec in batch:
            if decode(rec.value, limits) is None:
                raise RuntimeError("a bench record took the general path")
        done += len(batch) * per_record
        if time.perf_counter() - start > seconds:
            break
    return done / (time.perf_counter() - start)


def ceilings(seconds: float, repeat: int) -> int:
    """``Processor.process`` whole, without the numeric tally and merges, and decoding alone."""
    print(f"load average {Path('/proc/loadavg').read_text().strip()}")
    real = counting._NumericBlock.count
    for per_record, columnar in ((500, "binary"), (1, False)):
        whole, untallied, decoded = [], [], []
        for _ in range(repeat):
            whole.append(rate(per_record, columnar, seconds))
            counting._NumericBlock.count = lambda self, rows, rec: {}  # type: ignore[method-assign]
            try:
                untallied.append(rate(per_record, columnar, seconds))
            finally:
                counting._NumericBlock.count = real  # type: ignore[method-assign]
            decoded.append(decode_rate(per_record, columnar, seconds))
        w, u, d = (float(np.median(r)) for r in (whole, untallied, decoded))
        fmt = "binary columns" if columnar else "rows"
        print(
            f"{per_record:>3}/record {fmt}: Processor.process {w:>10,.0f}/s; numeric tally and "
            f"merges free {u:>10,.0f}/s ({u / w:.2f}x); decoding alone {d:>10,.0f}/s "
            f"({d / w:.2f}x) (medians of {repeat})"
        )
    x = np.random.default_rng(0).normal(0.0, 1.0, (INPUTS, 3_000)).round(4)
    tally = best_ns(lambda: tally_block(x, LogMapping(0.01)), x.size)
    with np.errstate(divide="ignore"):  # the zeros among the values
        logs = best_ns(lambda: np.log(np.abs(x)), x.size)
    print(f"tally_block {tally:.1f} ns a value, of which np.log(np.abs(x)) {logs:.1f} ns")
    ids = [f"{i:032x}" for i in range(500)]
    copied = best_ns(lambda: id_digests(ids), len(ids))
    made = best_ns(lambda: [blake2b(i.encode(), digest_size=8).digest() for i in ids], len(ids))
    print(f"an event id's hash: {copied:.0f} ns (id_digests) vs {made:.0f} ns (a new blake2b)")
    print(f"load average {Path('/proc/loadavg').read_text().strip()}")
    return 0


def best_ns(call: Callable[[], object], items: int, number: int = 50) -> float:
    """ns an item of ``call`` at its best of 5 repeats of ``number`` calls."""
    return min(timeit.repeat(call, number=number, repeat=5)) / number / items * 1e9


def evaluation_ms(dim: int, repeats: int = 5, multivariate: bool = False) -> float:
    """ms per ``measure_model`` + ``decide`` of one model: 20 numeric inputs and, with
    ``dim``, one embedding stream (with ``multivariate``, the stream of its first 16 inputs
    standardised, with cross products), judged on 1 h recent / 24 h baseline of 1,000 inferences an
    hour (24 sub-windows), as the worker does at each window end."""
    rng = np.random.default_rng(1)
    policy = DetectionPolicy()

    def hour() -> dict[str, object]:
        x = rng.normal(size=(1000, INPUTS))
        out: dict[str, object] = {}
        for i in range(INPUTS):
            h = NumericHistogram()
            h.update(x[:, i])
            out[f"input.f{i}"] = h
        if dim:
            v = rng.normal(0.0, 0.05, (1000, dim))
            out.update(deltas("embedding.text", v, 16, 0.01, False))
        if multivariate:
            out.update(deltas(MULTIVARIATE, x[:, :16], 16, 0.01, True))
        return out

    hours = [hour() for _ in range(25)]
    inputs = []
    for name in hours[0]:
        subs = [h[name] for h in hours[:24]]
        base = subs[0].copy()  # type: ignore[attr-defined]
        for s in subs[1:]:
            base += s
        inputs.append(StreamWindows(name, hours[24][name], base, Subwindows(subs)))  # type: ignore[arg-type]
    start = time.perf_counter()
    for _ in range(repeats):
        decide(measure_model(inputs, policy), policy)
    return (time.perf_counter() - start) / repeats * 1000


if __name__ == "__main__":
    sys.exit(main())
