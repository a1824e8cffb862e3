"""Disk use of what the sinks store, on a real PostgreSQL (harness), measured with
pg_total_relation_size (heap + TOAST + every index):

* inference_logs per million inferences, written by the sink's own writer (COPY + merge) from
  records like POST /inference's (3 inputs) and like bench_worker's (20 numeric inputs);
* drift_runs per million rows and per model-day (one row per stream and window; a numeric
  stream's result with 10 regrouped bins and the calibrated verdict), through the sink's upsert;
* drift_runs_hourly: the same results rolled up by ``rollup_drift_runs`` (sql/006), per
  million source rows.

Run: ``python bench/bench_storage.py [--inferences 100000] [--runs 100000]``. A few minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import PostgresServer
from harness.messages import Message
from sinks import queries
from sinks.writers import METRIC_COLUMNS, InferenceLogWriter, drift_run
from sql.migrations import migrate

PER_RECORD = 500
MB = 1024 * 1024


def small_event(i: int, ts: float) -> dict[str, Any]:
    return {
        "model_id": f"m{i % 10}",
        "event_id": f"evt-{i:012d}",
        "timestamp": ts,
        "input_data": {"feature1": (i % 997) / 997, "feature2": (i % 101) / 101, "country": "DE"},
        "prediction": {"class": "positive" if i % 3 else "negative", "score": 0.92},
        "confidence": 0.92,
    }


def wide_event(i: int, ts: float) -> dict[str, Any]:
    event = small_event(i, ts)
    event["input_data"] = {f"x{k}": ((i * 31 + k * 7) % 1009) / 1009 for k in range(20)}
    return event


def size(conn: psycopg.Connection[Any], table: str) -> int:
    """Bytes of ``table`` with its TOAST and indexes, its partitions included."""
    row = conn.execute(
        "SELECT coalesce((SELECT sum(pg_total_relation_size(relid)) "
        "FROM pg_partition_tree(%(t)s::regclass)), pg_total_relation_size(%(t)s::regclass))",
        {"t": table},
    ).fetchone()
    return int(row[0] or 0) if row else 0


def bench_logs(conn: psycopg.Connection[Any], n: int, make: Any) -> float:
    """MB per million inferences of ``n`` events written by the sink's writer."""
    conn.execute("TRUNCATE inference_logs")
    writer = InferenceLogWriter(keep_seconds=90_000, horizon=3600)
    now = time.time()
    for start in range(0, n, PER_RECORD * 4):
        msgs = [
            Message(
                orjson.dumps([make(i, now - 3600 + i * 0.01) for i in range(s, s + PER_RECORD)]),
                now,
                s,
            )
            for s in range(start, min(start + PER_RECORD * 4, n), PER_RECORD)
        ]
        with conn.transaction():
            writer(conn, msgs)  # type: ignore[arg-type]
    conn.execute("VACUUM ANALYZE inference_logs")
    return size(conn, "inference_logs") / n * 1e6 / MB


def result(model: int, stream: int, end: float, bucket: int) -> dict[str, Any]:
    bins = {
        "labels": [f"[{k / 10:.1f}, {(k + 1) / 10:.1f})" for k in range(10)],
        "recent": [0.1 + 0.001 * k for k in range(10)],
        "baseline": [0.1 - 0.001 * k for k in range(10)],
    }
    return {
        "model_id": f"m{model}",
        "stream": f"input.x{stream}",
        "stream_kind": "numeric",
        "window_start": end - 3600,
        "window_end": end,
        "baseline_start": end - 3600 - 86400,
        "baseline_end": end - 3600,
        "baseline_mode": "rolling",
        "status": "ok",
        "metrics": {m: 0.0123456789 for m in METRIC_COLUMNS},
        "recent_count": 12000,
        "baseline_count": 288000,
        "drifted_metrics": [],
        "bins": bins,
        "rule": "calibrated",
        "p_value": 0.4321,
        "q_value": 0.8642,
        "score": 0.3645,
        "limit": 4.3,
        "limits": {m: 0.0042 for m in METRIC_COLUMNS},
        "test": "share@fresh",
        "effect": 0.012,
        "null_center": 11.3,
        "null_spread": 5.2,
        "subwindows": 23,
        "new_categories": {"count": 0, "share": 0.0},
    }


def bench_runs(conn: psycopg.Connection[Any], n: int, bucket: int, streams: int) -> None:
    conn.execute("TRUNCATE drift_runs, drift_runs_hourly")
    t0 = 1_790_000_000 // 3600 * 3600
    windows = max(n // (streams * 10), 1)  # 10 models
    rows = (
        drift_run(result(m, s, t0 + (w + 1) * bucket, bucket))
        for w in range(windows)
        for m in range(10)
        for s in range(streams)
    )
    batch: list[dict[str, Any]] = []
    with conn.cursor() as cur:
        for row in rows:
            batch.append(row)
            if len(batch) == 5000:
                with conn.transaction():
                    cur.executemany(queries.UPSERT_DRIFT_RUN, batch)
                batch = []
        if batch:
            with conn.transaction():
                cur.executemany(queries.UPSERT_DRIFT_RUN, batch)
    conn.execute("VACUUM ANALYZE drift_runs")
    stored = conn.execute("SELECT count(*) FROM drift_runs").fetchone()[0]  # type: ignore[index]
    runs_bytes = size(conn, "drift_runs")
    per_row = runs_bytes / stored
    per_model_day = per_row * streams * 86400 / bucket
    print(
        f"drift_runs: {stored} rows, {runs_bytes / MB:.1f} MB: {per_row:.0f} B/row = "
        f"{per_row * 1e6 / MB:.0f} MB per million rows; a model of {streams} streams at "
        f"{bucket} s buckets: {per_model_day / MB:.1f} MB per model-day"
    )
    end = dt.datetime.fromtimestamp(t0 + (windows + 1) * bucket, dt.UTC)
    cutoff = end.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    started = time.monotonic()
    with conn.transaction():
        moved = conn.execute("SELECT rollup_drift_runs(%s)", (cutoff,)).fetchone()[0]  # type: ignore[index]
    took = time.monotonic() - started
    conn.execute("VACUUM ANALYZE drift_runs_hourly")
    hourly = conn.execute("SELECT count(*) FROM drift_runs_hourly").fetchone()[0]  # type: ignore[index]
    hourly_bytes = size(conn, "drift_runs_hourly")
    print(
        f"rolled up: {moved} rows into {hourly} hourly rows in {took:.1f} s "
        f"({moved / took:,.0f} rows/s); {hourly_bytes / MB:.2f} MB: {hourly_bytes / hourly:.0f} "
        f"B/hourly row = {hourly_bytes / moved * 1e6 / MB:.1f} MB per million source rows "
        f"({runs_bytes / max(hourly_bytes, 1):.0f}x smaller); "
        f"{hourly_bytes / hourly * streams * 24 / 1024:.0f} kB per model-day"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inferences", type=int, default=100_000, help="0: skip")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--bucket", type=int, default=300, help="bucket seconds (cadence)")
    parser.add_argument("--streams", type=int, default=20, help="streams per model")
    args = parser.parse_args()
    server = PostgresServer()
    server.start()
    try:
        dsn = server.create_database("bench_storage")
        migrate(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            makers = (("3 inputs", small_event), ("20 numeric inputs", wide_event))
            for name, make in makers if args.inferences else ():
                started = time.monotonic()
                per_million = bench_logs(conn, args.inferences, make)
                print(
                    f"inference_logs ({name}, {args.inferences} events in "
                    f"{time.monotonic() - started:.0f} s): {per_million:.0f} MB per million "
                    f"inferences (heap, TOAST and indexes)"
                )
            bench_runs(conn, args.runs, args.bucket, args.streams)
    finally:
        server.close()


if __name__ == "__main__":
    main()
