"""Throughput and memory of one stream worker (`driftmon worker`); prints figures, asserts nothing.

Starts its own Kafka (harness), preloads a topic, runs one worker process with the sinks off
and times how fast its counted events (`drift_events_total` on /metrics) reach the total:

* (a) one inference per Kafka record, (b) 500 inferences per record; 20 numeric inputs each,
  each in three record formats: rows (an event / a JSON array), columnar records with array
  columns, and columnar records with binary columns (base64 float64: what the SDK sends for
  records of ≥ 16 events),
* the ceiling: a bare confluent-kafka consumer (the worker's fetch settings) reading the same
  topic in the same run (the median of four reads: two before the worker runs, two after),
  and the worker's rate as a share of it (issue #14 targets: ≥ 50% at 500 per record, ≥ 10% at one).

Targets: (b) ≥ 100k inferences/s, (a) ≥ 10k/s. ``--format rows|columnar|binary`` runs one.
``--soak 300`` instead feeds a worker (binary columnar records, or ``--format``) at a fixed
rate for 5 minutes (event time 10x wall time, small windows, so buckets expire and the state
reaches its steady size) and prints its RSS every 30 s and the growth.
``--repeat 3`` runs each scenario three times and prints the median ratio and its range.
``--ids`` gives every inference an explicit event id (as the SDK does: the worker then also
de-duplicates by id). ``--profile PREFIX`` runs the workers under cProfile (PREFIX-a.prof,
PREFIX-b.prof).
``--embeddings 384`` instead runs rows and binary columnar records at 1 and 100 per record with
one 384-dim embedding per inference, beside rows without (polls bounded to ~2,000 inferences
with embeddings).
``--multivariate`` runs each chosen scenario with ``DRIFT_MULTIVARIATE`` on and (the default)
off in turn, ``--repeat`` times, and prints the medians (one topic per run, the same ceiling).
``--sinks`` runs (b) again with the worker's PostgreSQL sinks on (its own PostgreSQL; the sinks,
``inference_logs`` included, run as the worker's child process) and prints the worker's rate
against the run without sinks, and the rate at which ``inference_logs`` filled.
Both rates are timed from the first records on (the worker's from its first counted events,
the bare consumer's from its first consumed records), over topics of 1M records (a) and 8,000
records of 500 (b): the bare consumer reads either in under a second, and the records fetched
with its first ones are a small share of it. About five minutes for the three formats.
Run: ``python bench/bench_worker.py [--events-a 1000000] [--events-b 4000000] [--soak 300]``.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

import httpx
import numpy as np
import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from drift.topics import Topics  # noqa: E402
from harness import KafkaBroker  # noqa: E402
from harness.process import free_port  # noqa: E402
from producers.records import binary_column, binary_vectors  # noqa: E402
from stream_app.assembly import FETCH_CONFIG  # noqa: E402

INPUTS = 20
PARTITIONS = 8
T0 = 1_790_000_000 // 3600 * 3600  # event time in the past: a backlog replays at full speed
TS = b"-1.0"  # timestamp placeholder in the record templates
_ID = "@ID@"  # event id placeholder
IDS = b'"@ID@"'
_BINARY_TS: dict[int, bytes] = {}  # per record length: the placeholder binary time column
FORMATS = ("rows", "columnar", "binary")


def _f8(values: np.ndarray) -> bytes:
    return base64.b64encode(values.astype("<f8").tobytes())


def stamped(template: bytes, ts: float, per_record: int, seq: int = 0) -> bytes:
    """A template with its placeholder times (TS, or a binary column of -1.0) set to ``ts``
    and its placeholder event ids (``IDS``) set to ids unique to record ``seq``."""
    if per_record in _BINARY_TS and _BINARY_TS[per_record] in template:
        value = template.replace(_BINARY_TS[per_record], _f8(np.full(per_record, ts)))
    else:
        value = template.replace(TS, repr(ts).encode())
    if IDS not in value:
        return value
    parts = value.split(IDS)
    ids = [b'"%016x%016x"' % (seq, i) for i in range(len(parts) - 1)]  # 32 hex: a uuid4().hex
    return b"".join(chain.from_iterable(zip(parts, [*ids, b""], strict=True)))


def templates(
    model: str, per_record: int, count: int = 8, fmt: str = "rows", dim: int = 0, ids: bool = False
) -> list[bytes]:
    """Serialised records of ``per_record`` events whose timestamp is the placeholder TS (or,
    ``fmt="binary"``, a binary column of -1.0: ``stamped``); ``fmt``: rows, columnar (array
    columns) or binary (columns of numbers binary, as the SDK sends them by default);
    ``dim``: one embedding of that many dimensions per event (0: none); ``ids``: an explicit
    event id per event (placeholders, as the SDK sends a uuid per event)."""
    rng = np.random.default_rng(abs(hash(model)) % 2**32)
    out = []
    for _ in range(count):
        x = rng.normal(0.0, 1.0, (per_record, INPUTS)).round(4)
        vectors = rng.normal(0.0, 0.05, (per_record, dim)).round(4).tolist() if dim else None
        if fmt != "rows":
            columns: dict[str, object] = {
                f"input.f{i}": [float(v) for v in x[:, i]] for i in range(INPUTS)
            }
            # as the SDK writes them: the event ids right after the times
            ids_column = {"event_id": [_ID] * per_record} if ids else {}
            columns = {"timestamp": [-1.0] * per_record, **ids_column, **columns}
            if fmt == "binary":
                _BINARY_TS[per_record] = _f8(np.full(per_record, -1.0))
                columns = {k: binary_column(v) for k, v in columns.items()}  # type: ignore[arg-type]
            if vectors is not None:
                columns["embedding.text"] = binary_vectors(vectors) if fmt == "binary" else vectors
            out.append(orjson.dumps({"model_id": model, "columns": columns}))
            continue
        events: list[dict[str, object]] = [
            {
                "model_id": model,
                "timestamp": -1.0,
                "input_data": {f"f{i}": float(v) for i, v in enumerate(row)},
            }
            for row in x
        ]
        for event, v in zip(events, vectors or [], strict=False):
            event["embeddings"] = {"text": v}
        for event in events if ids else []:
            event["event_id"] = _ID
        out.append(orjson.dumps(events[0] if per_record == 1 else events))
    return out


def records(
    models: list[str],
    n_records: int,
    per_record: int,
    t0: float,
    dt: float,
    fmt: str,
    dim: int = 0,
    ids: bool = False,
) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) pairs round-robin over models; event time advances ``dt`` per record."""
    pools = {m: templates(m, per_record, fmt=fmt, dim=dim, ids=ids) for m in models}
    for k in range(n_records):
        model = models[k % len(models)]
        pool = pools[model]
        ts = t0 + (k // len(models)) * dt
        yield model.encode(), stamped(pool[k % len(pool)], ts, per_record, k)


def producer(bootstrap: str) -> Producer:
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "partitioner": "murmur2_random",
            "queue.buffering.max.messages": 1_000_000,
        }
    )


def preload(bootstrap: str, topic: str, pairs: Iterator[tuple[bytes, bytes]]) -> int:
    p, n = producer(bootstrap), 0
    for key, value in pairs:
        while True:
            try:
                p.produce(topic, key=key, value=value)
                break
            except BufferError:
                p.poll(0.1)
        n += 1
    if p.flush(120):
        raise RuntimeError("preload not acknowledged")
    return n


def bare_reads(bootstrap: str, topic: str, n_records: int, reads: int = 2) -> list[float]:
    """Records/s of a plain consumer reading the whole topic (values untouched), ``reads``
    times, each by a new group (one read alone varied up to 2x between runs)."""
    return [_bare_read(bootstrap, topic, n_records) for _ in range(reads)]


def _bare_read(bootstrap: str, topic: str, n_records: int) -> float:
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bare-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
            **FETCH_CONFIG,  # the worker's: the same fetching ahead
        }
    )
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    # timed from the first records on, as the worker is (from its first counted events): the
    # consumer's connecting and first fetch took up to a third of a read of the whole topic
    seen, first, start = 0, 0, time.perf_counter()
    per_call = min(10_000, max(1, n_records // 50))  # the first call cannot take it all
    while seen < n_records and time.perf_counter() - start < 300:
        got = sum(1 for m in c.consume(per_call, 1.0) if not m.error())
        if got and not first:
            first, start = got, time.perf_counter()
        seen += got
    elapsed = time.perf_counter() - start
    c.close()
    return (seen - first) / max(elapsed, 1e-9)


class Worker:
    """One `driftmon worker` child process with its own app id and /metrics port."""

    def __init__(self, bootstrap: str, prefix: str, workdir: Path, **settings: object) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "DRIFT_KAFKA_BOOTSTRAP": bootstrap,
            "DRIFT_TOPIC_PREFIX": prefix,
            "DRIFT_APP_ID": f"{prefix}app",
            "DRIFT_WEB_PORT": str(self.port),
            "DRIFT_PARTITIONS": str(PARTITIONS),
            "DRIFT_DATA_DIR": str(workdir / f"{prefix}data"),
            "DRIFT_SINKS_ENABLED": "false",
            "DRIFT_MAX_EVENT_AGE_SECONDS": "0",  # the backlog replays past event times
            **{f"DRIFT_{k.upper()}": str(v) for k, v in settings.items()},
        }
        self.log = workdir / f"{prefix}worker.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, profile: str | None = None) -> None:
        wrap = ["-m", "cProfile", "-o", profile] if profile else []
        argv = [sys.executable, *wrap, "-m", "driftmon_cli", "--log-level", "WARNING", "worker"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                argv, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
            )

    def counted(self) -> float:
        try:
            text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text
        except httpx.HTTPError:
            return 0.0
        return sum(
            s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == "drift_events_total"
        )

    def rss_mib(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def time_worker(
    worker: Worker, total: int, timeout: float, profile: str | None
) -> tuple[float, float]:
    """(inferences/s from the first counted event to ``total``, seconds until the first)."""
    started = time.perf_counter()
    worker.start(profile)
    first: tuple[float, float] | None = None
    count = 0.0
    while count < total and time.perf_counter() - started < timeout and worker.alive():
        time.sleep(0.25)
        count = worker.counted()
        if count and first is None:
            first = (time.perf_counter(), count)
    if first is None or count < total:
        raise RuntimeError(f"worker counted {count:.0f} of {total}; log: {worker.log}")
    if first[1] >= total:
        raise RuntimeError(f"worker counted all {total} within one poll: too few to time")
    elapsed = time.perf_counter() - first[0]
    return (total - first[1]) / max(elapsed, 1e-9), first[0] - started


def log_rows(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM inference_logs").fetchone()
    return int(row[0]) if row else 0


def scenario(
    kafka: KafkaBroker,
    workdir: Path,
    name: str,
    n_records: int,
    per_record: int,
    profile: str,
    dsn: str | None = None,
    fmt: str = "rows",
    dim: int = 0,
    settings: dict[str, object] | None = None,
    ids: bool = False,
) -> tuple[float, float]:
    """(worker inferences/s, bare consumer inferences/s) of one scenario; ``dim``: one
    embedding per inference (polls then bounded to ~2,000 inferences: see below);
    ``settings``: more ``DRIFT_*`` settings of the worker."""
    prefix = f"bench{uuid.uuid4().hex[:6]}-"
    topics = Topics(prefix)
    kafka.create_topics(topics.all(), partitions=PARTITIONS)
    models = [f"model-{i}" for i in range(4)]
    dt = per_record * 0.01  # 100 events/s of event time per model
    t = time.perf_counter()
    pairs = records(models, n_records, per_record, T0, dt, fmt, dim, ids)
    preload(kafka.bootstrap, topics.events, pairs)
    print(f"{name}: preloaded {n_records:,} records in {time.perf_counter() - t:.1f}s")
    # the ceiling: two reads before the worker runs and two after (the machine's state drifts
    # between runs: one read before varied 0.7-1.8M inferences/s); the median of the four
    reads = bare_reads(kafka.bootstrap, topics.events, n_records)
    sinks: dict[str, object] = {"sinks_enabled": "true", "database_url": dsn} if dsn else {}
    sinks.update(settings or {})
    if dim:  # a poll of embeddings must be processed well within the transaction timeout
        sinks["batch_size"] = max(1, 2000 // per_record)
    worker = Worker(kafka.bootstrap, prefix, workdir, **sinks)
    total = n_records * per_record
    try:
        started = time.perf_counter()
        rate, startup = time_worker(worker, total, 600, profile or None)
        if dsn:
            deadline = time.perf_counter() + 900
            while (rows := log_rows(dsn)) < total and time.perf_counter() < deadline:
                time.sleep(1.0)
            logged = time.perf_counter() - started - startup
            print(f"{name}: inference_logs holds {rows:,} rows, {rows / logged:,.0f} rows/s")
    finally:
        worker.stop()
    reads += bare_reads(kafka.bootstrap, topics.events, n_records)
    ceiling = float(np.median(reads)) * per_record
    spread = f"{min(reads) * per_record / 1e6:.2f}-{max(reads) * per_record / 1e6:.2f}M"
    print(
        f"{name}: worker {rate:>10,.0f} inferences/s (start-up {startup:.1f}s)  "
        f"bare consumer {ceiling:>12,.0f} inferences/s (4 reads {spread})  "
        f"ratio {rate / ceiling:.1%}"
    )
    return rate, ceiling


def with_sinks(kafka: KafkaBroker, workdir: Path, n_events: int, without: float) -> None:
    from harness import PostgresServer
    from sql.migrations import migrate

    pg = PostgresServer()
    pg.start()
    try:
        dsn = pg.create_database("bench")
        migrate(dsn)
        rate, _ = scenario(kafka, workdir, "(b) + sinks   ", n_events // 500, 500, "", dsn)
        print(f"(b) + sinks   : {rate / without:.0%} of the rate without sinks (same run)")
    finally:
        pg.close()


def soak(kafka: KafkaBroker, workdir: Path, seconds: int, rate: int, fmt: str) -> None:
    """Feed one worker ``rate`` inferences/s (500 a record) for ``seconds``; print its RSS."""
    prefix, per_record, models = f"soak{uuid.uuid4().hex[:6]}-", 500, ["m0", "m1", "m2", "m3"]
    topics = Topics(prefix)
    kafka.create_topics(topics.all(), partitions=PARTITIONS)
    windows = {"bucket_seconds": 10, "recent_seconds": 60, "baseline_seconds": 300}
    worker = Worker(kafka.bootstrap, prefix, workdir, lateness_seconds=0, **windows)
    pools = {m: templates(m, per_record, fmt=fmt) for m in models}
    p, sent = producer(kafka.bootstrap), 0
    samples: list[tuple[float, float]] = []
    worker.start()
    start = time.monotonic()
    try:
        while (elapsed := time.monotonic() - start) < seconds and worker.alive():
            while sent < int(elapsed * rate / per_record):  # event time runs 10x wall time
                model = models[sent % len(models)]
                value = stamped(pools[model][sent % 8], T0 + elapsed * 10, per_record)
                p.produce(topics.events, key=model.encode(), value=value)
                sent += 1
            p.poll(0)
            if elapsed >= 30 * (len(samples) + 1):  # the first sample after 30 s of feeding
                samples.append((elapsed, worker.rss_mib()))
                print(
                    f"soak t={elapsed:5.0f}s  RSS {samples[-1][1]:7.1f} MiB  "
                    f"sent {sent * per_record:>11,}  counted {worker.counted():>11,.0f}"
                )
            time.sleep(0.01)
        samples.append((time.monotonic() - start, worker.rss_mib()))
    finally:
        p.flush(30)
        worker.stop()
    warm = next((rss for t, rss in samples if t >= 60), samples[0][1])
    print(
        f"soak: {rate:,} inferences/s for {seconds}s; RSS at 30 s {samples[0][1]:.1f} -> "
        f"{samples[-1][1]:.1f} MiB; growth after the first minute {samples[-1][1] - warm:+.1f} MiB"
    )


def multivariate_cost(
    kafka: KafkaBroker, workdir: Path, args: argparse.Namespace, formats: list[str]
) -> None:
    """Each chosen scenario with ``DRIFT_MULTIVARIATE`` on and off, interleaved, medians."""
    summary = []
    for fmt in formats:
        for key, per_record, n_events in (("a", 1, args.events_a), ("b", 500, args.events_b)):
            if args.only not in (None, key):
                continue
            runs: dict[bool, list[float]] = {True: [], False: []}
            for i in range(args.repeat or 3):
                for on in (True, False):
                    name = f"({key}) {per_record}/record {fmt} mv={'on' if on else 'off'} #{i}"
                    rate, _ = scenario(
                        kafka,
                        workdir,
                        name,
                        n_events // per_record,
                        per_record,
                        "",
                        fmt=fmt,
                        settings={"multivariate": str(on).lower()},
                    )
                    runs[on].append(rate)
            summary.append((f"({key}) {per_record:>3}/record {fmt:8}", runs))
    for name, runs in summary:
        on, off = float(np.median(runs[True])), float(np.median(runs[False]))
        print(
            f"{name}: multivariate on {on:>9,.0f}/s  off {off:>9,.0f}/s  ({on / off:.2f}x; "
            f"medians of {len(runs[True])}; on {min(runs[True]):,.0f}-{max(runs[True]):,.0f}, "
            f"off {min(runs[False]):,.0f}-{max(runs[False]):,.0f})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-a", type=int, default=1_000_000, help="inferences in (a)")
    parser.add_argument("--events-b", type=int, default=4_000_000, help="inferences in (b)")
    parser.add_argument("--soak", type=int, default=0, help="soak seconds (memory mode)")
    parser.add_argument("--soak-rate", type=int, default=20_000, help="inferences/s in the soak")
    parser.add_argument("--profile", default="", help="cProfile the workers into PREFIX-a/b.prof")
    parser.add_argument("--only", choices=["a", "b"], help="run only scenario (a) or (b)")
    parser.add_argument("--format", choices=FORMATS, help="run only one format")
    parser.add_argument(
        "--ids", action="store_true", help="an explicit event id per inference, as the SDK sends"
    )
    parser.add_argument(
        "--sinks",
        action="store_true",
        help="also run (b) with the PostgreSQL sinks and inference_logs on",
    )
    parser.add_argument(
        "--embeddings",
        type=int,
        default=0,
        metavar="DIM",
        help="instead: rows at 1 and 100 per record with one DIM-dim embedding each, beside "
        "the same without",
    )
    parser.add_argument("--events-e", type=int, default=40_000, help="inferences per run")
    parser.add_argument(
        "--multivariate", action="store_true", help="each scenario with multivariate on and off"
    )
    parser.add_argument(
        "--repeat", type=int, help="runs of each scenario (default 1; --multivariate: 3)"
    )
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    workdir = Path(tempfile.mkdtemp(prefix="driftmon-bench-worker-"))
    kafka = KafkaBroker(partitions=PARTITIONS)
    kafka.start()
    try:
        formats = [f for f in FORMATS if args.format in (None, f)]
        if args.soak:
            soak(kafka, workdir, args.soak, args.soak_rate, formats[-1])
        elif args.multivariate:
            multivariate_cost(kafka, workdir, args, formats)
        elif args.embeddings:
            rows = []
            for per_record in (1, 100):
                n = args.events_e // per_record
                for dim, fmt in (
                    (0, "rows"),
                    (args.embeddings, "rows"),
                    (args.embeddings, "binary"),
                ):
                    name = f"{per_record:>3}/record, {dim or 'no'} embedding, {fmt:6}"
                    # without vectors 10x the events: else the worker is done within one poll
                    events = n if dim else 10 * n
                    rate = scenario(kafka, workdir, name, events, per_record, "", fmt=fmt, dim=dim)
                    rows.append((name, *rate))
            for name, rate, ceiling in rows:
                print(f"{name}: worker {rate:>9,.0f} inferences/s  ({rate / ceiling:6.1%} of bare)")
        else:
            summary: dict[str, list[tuple[float, float]]] = {}
            for i in range(args.repeat or 1):
                for fmt in formats:
                    prof = {
                        k: f"{args.profile}-{fmt}-{k}.prof" if args.profile else "" for k in "ab"
                    }
                    if args.only != "b":
                        name = f"(a) 1/record   {fmt:8}"
                        a = scenario(
                            kafka, workdir, name, args.events_a, 1, prof["a"], fmt=fmt, ids=args.ids
                        )
                        summary.setdefault(name, []).append(a)
                    if args.only != "a" or args.sinks:
                        name = f"(b) 500/record {fmt:8}"
                        n = args.events_b // 500
                        b = scenario(kafka, workdir, name, n, 500, prof["b"], fmt=fmt, ids=args.ids)
                        summary.setdefault(name, []).append(b)
                        if args.sinks and i == 0:
                            with_sinks(kafka, workdir, args.events_b, b[0])
            for name, runs in summary.items():
                rates = [r for r, _ in runs]
                ratios = [r / c for r, c in runs]
                print(
                    f"{name}: {np.median(rates):>10,.0f}/s, {np.median(ratios):6.1%} of the bare "
                    f"consumer (median of {len(runs)}: {min(ratios):.1%}-{max(ratios):.1%})"
                )
    finally:
        kafka.close()
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
