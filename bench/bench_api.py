"""Benchmark of the HTTP API on loopback with a real load tool (wrk).

Starts its own Kafka and PostgreSQL (harness), serves the API with uvicorn in a separate
process, and prints requests/s and p50/p99 latency for:

* POST /inference at full speed, and at a paced ~1k req/s (wrk Lua ``delay``),
* POST /inference/batch (1,000 events a request → inferences/s),
* GET /drift/history over 1M drift_runs rows (generate_series), random model/stream filters,
  first pages and deep keyset pages.

Targets: ≥ 2k req/s single events with p99 < 50 ms at 1k req/s; ≥ 100k inferences/s through the
batch endpoint; history p99 < 50 ms. Bounded: about two minutes. Needs ``wrk`` (apt-get install
wrk). Run: ``python bench/bench_api.py [--duration 10] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drift.topics import Topics
from harness import KafkaBroker, PostgresServer
from harness.process import free_port
from sql.migrations import migrate

EVENT = {
    "model_id": "bench",
    "input_data": {"feature1": 0.5, "feature2": 0.3, "country": "DE"},
    "prediction": {"class": "positive", "score": 0.92},
    "confidence": 0.92,
}
BATCH = 1000
MODELS, STREAMS, WINDOWS = 100, 10, 1000  # 1M drift_runs rows

POST_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = io.open("{body}", "rb"):read("*a")
{extra}
"""
# Exponential think times per connection: together 64 connections approximate Poisson arrivals
# at the target rate instead of firing in lock-step bursts of 64 (a wrk pacing artefact).
PACED = """
math.randomseed(os.time() + math.floor(os.clock() * 1e6))
function delay() return math.floor(-math.log(1 - math.random()) * {ms}) end
"""
HISTORY_LUA = """
math.randomseed(os.time())
request = function()
  local m = math.random(0, {models} - 1)
  local s = math.random(0, {streams} - 1)
  local path = "/drift/history?limit=100&model_id=m" .. m .. "&stream=s" .. s
  if math.random() < 0.3 then path = "/drift/history?limit=100&model_id=m" .. m end
  if math.random() < 0.3 then
    path = path .. "&cursor={cursor}"
  end
  return wrk.format("GET", path)
end
"""


def wrk(url: str, script: str, duration: int, connections: int) -> dict[str, float]:
    """Run wrk; returns requests/s, p50 and p99 (ms) and the non-2xx count."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", f.name, url]
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, timeout=duration + 60
    ).stdout
    os.unlink(f.name)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "errors": float(m.group(1)) if (m := re.search(r"Non-2xx.*?:\s+(\d+)", out)) else 0.0,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def fill_history(dsn: str) -> float:
    """1M drift_runs rows: MODELS × STREAMS × WINDOWS five-minute windows; returns seconds."""
    start = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO drift_runs (model_id, stream, stream_kind, window_start, window_end,
                   status, kl_divergence, cosine_similarity, psi, recent_count, baseline_count)
               SELECT 'm' || m, 's' || s, 'numeric',
                      timestamptz '2026-01-01' + make_interval(mins => 5 * w - 60),
                      timestamptz '2026-01-01' + make_interval(mins => 5 * w),
                      CASE WHEN random() < 0.05 THEN 'drift' ELSE 'ok' END,
                      random() * 0.2, 0.8 + random() * 0.2, random() * 0.3, 1000, 20000
               FROM generate_series(0, %s) m, generate_series(0, %s) s, generate_series(1, %s) w""",
            (MODELS - 1, STREAMS - 1, WINDOWS),
        )
        conn.execute("VACUUM ANALYZE drift_runs")
    return time.monotonic() - start


def deep_cursor(base: str) -> str:
    """The cursor of page 5 of a history listing (keyset paging: as cheap as page 1)."""
    url, cursor = f"{base}/drift/history?limit=100&model_id=m1&stream=s1", ""
    for _ in range(5):
        with urllib.request.urlopen(url + (f"&cursor={cursor}" if cursor else "")) as resp:
            cursor = json.load(resp)["next_cursor"]
    return cursor


def serve_api(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=Path(__file__).parent.parent)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the API did not become healthy")


def line(name: str, r: dict[str, float], scale: int = 1) -> None:
    rate = f"{r['rps']:>10,.0f} req/s" + (
        f" = {r['rps'] * scale:>10,.0f} inferences/s" if scale > 1 else ""
    )
    print(
        f"{name:<44} {rate}  p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms"
        f"  non-2xx {r['errors']:.0f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (max runs)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    pg, kafka = PostgresServer(), KafkaBroker()
    pg.start()
    kafka.start()
    proc = None
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    try:
        dsn = pg.create_database("bench_api")
        migrate(dsn)
        kafka.create_topics(Topics("bench-").all())
        print(f"filled 1M drift_runs rows in {fill_history(dsn):.1f} s")
        port = free_port()
        env = {
            "DRIFT_DATABASE_URL": dsn,
            "DRIFT_KAFKA_BOOTSTRAP": kafka.bootstrap,
            "DRIFT_TOPIC_PREFIX": "bench-",
            "DRIFT_DB_POOL_MAX_SIZE": "8",
        }
        proc = serve_api(env, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        (tmp / "event.json").write_text(json.dumps(EVENT))
        batch = [{**EVENT, "model_id": f"bench{i % 8}"} for i in range(BATCH)]
        (tmp / "batch.json").write_text(json.dumps(batch))
        single = POST_LUA.format(body=tmp / "event.json", extra="")
        d = args.duration
        print(f"API: {args.workers} uvicorn worker(s); wrk 1 thread; {d} s per run")
        wrk(f"{base}/inference", single, 3, 16)  # warm-up
        c = args.connections
        line(f"POST /inference (max, {c} conns)", wrk(f"{base}/inference", single, d, c))
        # wrk paces per connection: 64 connections each waiting ~60 ms ≈ 1k req/s in all
        paced = POST_LUA.format(body=tmp / "event.json", extra=PACED.format(ms=60))
        line("POST /inference (paced ~1k req/s, 64 conns)", wrk(f"{base}/inference", paced, d, 64))
        batch_lua = POST_LUA.format(body=tmp / "batch.json", extra="")
        line(
            f"POST /inference/batch ({BATCH} events)",
            wrk(f"{base}/inference/batch", batch_lua, d, 8),
            BATCH,
        )
        cursor = deep_cursor(base)
        history = HISTORY_LUA.format(models=MODELS, streams=STREAMS, cursor=cursor)
        line("GET /drift/history (1M rows, 16 conns)", wrk(base, history, d, 16))
        paced_history = history + PACED.format(ms=60)
        line("GET /drift/history (paced ~1k req/s, 64 conns)", wrk(base, paced_history, d, 64))
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
