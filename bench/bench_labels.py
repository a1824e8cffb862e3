"""Benchmark of the label path (issue 15): ingest through the API, the store, and the join.

Starts its own Kafka and PostgreSQL (harness) and prints:

* POST /labels/batch with 1,000 labels a request (wrk, 8 connections) → labels/s acknowledged
  by Kafka;
* ``store_labels`` (the labels sink's statement: upsert + marking the windows), labels/s, in
  batches of 2,000 as the sink takes them, for labels of logged inferences;
* ``compute_dirty`` (the join of labels to ``inference_logs`` and the window aggregates, the
  CBPE reference of the 168 h before each window included): windows/s and joined rows/s, for
  24 hourly windows of ``--per-hour`` logged inferences, ``--share`` of them labelled;
* the same ``compute_dirty`` again after a replay of every label (no figure changes).

Run: ``python bench/bench_labels.py [--duration 10] [--per-hour 10000]`` (about two minutes).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import POST_LUA, serve_api, wrk

from drift.labels import LabelEvent
from drift.topics import Topics
from harness import KafkaBroker, PostgresServer
from harness.process import free_port
from sinks.performance_store import (
    PerformanceSettings,
    compute_dirty,
    store_labels,
)
from sql.migrations import migrate

BATCH = 1000
HOUR = 3600
T0 = 1_796_083_200  # 2026-12-01T00:00Z


def fill_inferences(dsn: str, per_hour: int, rng: np.random.Generator) -> list[tuple]:
    """24 h of logged inferences of model m (COPY); returns (event id, time, predicted, truth)."""
    n = 24 * per_hour
    times = T0 + np.sort(rng.uniform(0, 24 * HOUR, n))
    conf = 0.5 + 0.5 * rng.beta(5.0, 2.0, n)
    pred = rng.choice(["yes", "no"], n)
    right = rng.random(n) < conf
    truth = np.where(right, pred, np.where(pred == "yes", "no", "yes"))
    rows = [
        (f"e{i}", float(t), str(p), str(y))
        for i, (t, p, y) in enumerate(zip(times, pred, truth, strict=True))
    ]
    with (
        psycopg.connect(dsn) as conn,
        conn.cursor().copy(
            "COPY inference_logs (model_id, event_id, event_time, input_data, prediction,"
            " confidence) FROM STDIN"
        ) as copy,
    ):
        for (eid, t, p, _), c in zip(rows, conf.tolist(), strict=True):
            copy.write_row(("m", eid, datetime.fromtimestamp(t, UTC), "{}", f'"{p}"', c))
    return rows


def bench_store_and_join(dsn: str, per_hour: int, share: float) -> None:
    rng = np.random.default_rng(1)
    start = time.monotonic()
    rows = fill_inferences(dsn, per_hour, rng)
    print(f"logged {len(rows):,} inferences in {time.monotonic() - start:.1f} s")
    labels = [LabelEvent("m", eid, y, t + 86_400) for eid, t, _, y in rows if rng.random() < share]
    settings = PerformanceSettings()
    for run in ("first", "replay"):
        with psycopg.connect(dsn) as conn:
            start = time.monotonic()
            for i in range(0, len(labels), 2000):
                with conn.transaction():
                    store_labels(conn, labels[i : i + 2000], settings, time.time())
            stored = time.monotonic() - start
            start = time.monotonic()
            windows = compute_dirty(conn, settings)
            joined = time.monotonic() - start
            figures = conn.execute(
                "SELECT sum(labelled), avg(accuracy) FROM performance_windows"
            ).fetchone()
        print(
            f"store_labels ({run}, batches of 2,000)  {len(labels) / stored:>10,.0f} labels/s"
            f"  ({len(labels):,} in {stored:.1f} s)"
        )
        print(
            f"compute_dirty ({run}, {windows} windows) {len(rows) / joined:>10,.0f} rows/s"
            f" ({len(labels) / joined:,.0f} labelled rows/s, {windows / joined:.2f} windows/s;"
            f" labelled {figures[0]}, mean accuracy {figures[1]:.4f})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of the wrk run")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--per-hour", type=int, default=10_000, help="inferences per hour")
    parser.add_argument("--share", type=float, default=0.8, help="share of them labelled")
    args = parser.parse_args()
    pg, kafka = PostgresServer(), KafkaBroker()
    pg.start()
    kafka.start()
    proc = None
    tmp = Path(tempfile.mkdtemp(prefix="bench-labels-"))
    try:
        dsn = pg.create_database("bench_labels")
        migrate(dsn)
        kafka.create_topics(Topics("bench-").all())
        if shutil.which("wrk"):
            port = free_port()
            env = {
                "DRIFT_DATABASE_URL": dsn,
                "DRIFT_KAFKA_BOOTSTRAP": kafka.bootstrap,
                "DRIFT_TOPIC_PREFIX": "bench-",
                "DRIFT_DB_POOL_MAX_SIZE": "8",
                "DRIFT_INSECURE_LOCAL": "1",
            }
            proc = serve_api(env, port, args.workers)
            batch = [
                {"model_id": f"bench{i % 8}", "event_id": f"e{i}", "label": "yes"}
                for i in range(BATCH)
            ]
            (tmp / "labels.json").write_text(json.dumps(batch))
            script = POST_LUA.format(body=tmp / "labels.json", extra="")
            url = f"http://127.0.0.1:{port}/labels/batch"
            wrk(url, script, 3, 4)  # warm-up
            print(f"API: {args.workers} uvicorn worker(s); wrk 1 thread; {args.duration} s")
            r = wrk(url, script, args.duration, 8)
            print(
                f"POST /labels/batch ({BATCH} labels, 8 conns)  {r['rps']:>8,.0f} req/s ="
                f" {r['rps'] * BATCH:>10,.0f} labels/s  p50 {r['p50']:.1f} ms  p99"
                f" {r['p99']:.1f} ms  non-2xx {r['errors']:.0f}"
            )
        else:
            print("wrk not found (apt-get install -y wrk): the API figure is skipped")
        bench_store_and_join(dsn, args.per_hour, args.share)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        kafka.close()
        pg.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
