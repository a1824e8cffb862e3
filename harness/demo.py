"""`driftmon stack demo`: start the local stack, replay a drifting scenario, print what drifted."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from harness.stack import StackState, fetch_json, up

# model id -> scenario: one stays stable, one drifts suddenly in its inputs, one in a category mix
SCENARIOS = (("checkout", "none"), ("fraud", "sudden"), ("recsys", "categorical"))


@dataclass(frozen=True)
class DemoOptions:
    duration_h: float = 26.0
    rate: float = 2.0
    bucket: int = 300
    recent: int = 3600
    baseline: int = 86400
    timeout: float = 600.0


def replay(state: StackState, opts: DemoOptions, start: float) -> None:
    for seed, (model, scenario) in enumerate(SCENARIOS, start=1):
        print(f"replaying {opts.duration_h:g} h of '{scenario}' for model {model} …", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "driftmon_cli",
                "generate",
                "--scenario",
                scenario,
                "--models",
                model,
                "--duration",
                f"{opts.duration_h}h",
                "--drift-at",
                f"{opts.duration_h - 1}h",
                "--start",
                str(start),
                "--rate",
                str(opts.rate),
                "--seed",
                str(seed),
                "--speed",
                "0",
                "--bootstrap",
                state.bootstrap,
            ],
            check=True,
        )


def wait_for_last_window(state: StackState, opts: DemoOptions, end: float) -> None:
    """Poll drift_runs until every model's last full window is evaluated."""
    deadline = time.monotonic() + opts.timeout
    target = int(end // opts.bucket) * opts.bucket
    sql = "SELECT count(DISTINCT model_id) FROM drift_runs WHERE window_end >= to_timestamp(%s)"
    while time.monotonic() < deadline:
        with psycopg.connect(state.database_url) as conn:
            row = conn.execute(sql, (target,)).fetchone()
        if row and row[0] >= len(SCENARIOS):
            return
        time.sleep(2)
    raise TimeoutError(f"no drift result for the window ending at {target} after {opts.timeout}s")


SUMMARY_SQL = """
SELECT model_id, stream,
       count(*) FILTER (WHERE status = 'drift'),
       count(*) FILTER (WHERE status = 'ok'),
       count(*) FILTER (WHERE status = 'insufficient_data'),
       min(window_end) FILTER (WHERE status = 'drift'),
       max(kl_divergence) FILTER (WHERE status = 'drift'),
       min(cosine_similarity) FILTER (WHERE status = 'drift'),
       max(psi) FILTER (WHERE status = 'drift'),
       max(mean_shift) FILTER (WHERE status = 'drift'),
       max(correlation_shift) FILTER (WHERE status = 'drift'),
       max(sliced_wasserstein) FILTER (WHERE status = 'drift')
FROM drift_runs GROUP BY model_id, stream ORDER BY model_id, stream
"""
ALERTS_SQL = (
    "SELECT model_id, stream, status, opened_at, resolved_at, value "
    "FROM alerts ORDER BY model_id, opened_at"
)


def summary(state: StackState) -> tuple[str, dict[str, list[str]]]:
    """A readable report, and the drifted streams per model (what the e2e test checks)."""
    with psycopg.connect(state.database_url) as conn:
        rows = conn.execute(SUMMARY_SQL).fetchall()
        alerts = conn.execute(ALERTS_SQL).fetchall()
    drifted: dict[str, list[str]] = {}
    lines = ["", "=== AI Drift Monitor demo: summary ==="]
    for model in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == model]
        hits = [r for r in mine if r[2] > 0]
        drifted[model] = [r[1] for r in hits]
        evaluations = sum(r[2] + r[3] + r[4] for r in mine)
        verdict = "DRIFT" if hits else "no drift"
        lines.append(f"\nmodel {model}: {verdict} ({len(mine)} streams, {evaluations} evaluations)")
        for r in hits:
            lines.append(f"  {r[1]:28} drifted in {r[2]} windows from {r[5]:%Y-%m-%d %H:%M} UTC; ")
            if r[6] is None:  # a vector stream (multivariate, embedding.<name>): no KL / PSI
                named = [("sliced Wasserstein", r[11]), ("mean shift", r[9])]
                named.append(("correlation shift", r[10]))
                lines[-1] += ", ".join(f"{k} max {v:.3f}" for k, v in named if v is not None)
            else:
                lines[-1] += f"KL max {r[6]:.3f}, cosine min {r[7]:.3f}, PSI max {r[8]:.3f}"
        quiet = [r[1] for r in mine if r[2] == 0]
        if quiet:
            lines.append(f"  stable: {', '.join(quiet)}")
    lines.append(f"\nalerts ({len(alerts)}):")
    lines += [
        f"  {a[0]}/{a[1]}: {a[2]}, opened {a[3]:%Y-%m-%d %H:%M}"
        + (f", resolved {a[4]:%H:%M}" if a[4] else "")
        for a in alerts
    ] or ["  none"]
    lines += _prometheus_alerts(state)
    lines += [
        "",
        "URLs:",
        f"  dashboard     {state.api_url}/ui",
        f"  API docs      {state.api_url}/docs",
        f"  drift latest  {state.api_url}/drift/latest",
        f"  Prometheus    {state.prometheus_url}/alerts",
        f"  Alertmanager  {state.alertmanager_url}",
        f"  worker        {state.worker_metrics_url}",
        f"  PostgreSQL    {state.database_url}",
        "Stop everything with `make demo-down` (driftmon stack down).",
    ]
    return "\n".join(lines), drifted


def wait_for_firing(state: StackState, timeout: float = 90.0) -> None:
    """Give Prometheus' `for:` durations time to fire and Alertmanager time to notify."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(state.database_url) as conn:
            row = conn.execute("SELECT count(*) FROM alert_notifications").fetchone()
        if row and row[0] > 0:
            return
        time.sleep(2)


def _prometheus_alerts(state: StackState) -> list[str]:
    try:
        body: Any = fetch_json(f"{state.prometheus_url}/api/v1/alerts")
    except OSError as exc:
        return [f"\nPrometheus alerts: unavailable ({exc})"]
    with psycopg.connect(state.database_url) as conn:
        sent = conn.execute(
            "SELECT alertname, count(*) FROM alert_notifications "
            "WHERE status = 'firing' GROUP BY 1 ORDER BY 1"
        ).fetchall()
    active = body["data"]["alerts"]
    names = sorted(
        {
            f"{a['labels'].get('alertname')}[{a['labels'].get('model_id', '')}] {a['state']}"
            for a in active
        }
    )
    return [
        f"\nPrometheus alerts now ({len(active)}): " + (", ".join(names) or "none"),
        "Alertmanager notifications received by the API webhook: "
        + (", ".join(f"{name} ×{n}" for name, n in sent) or "none"),
    ]


def run_demo(opts: DemoOptions, argv_env: Sequence[tuple[str, str]] = ()) -> dict[str, list[str]]:
    worker_env = {
        "DRIFT_BUCKET_SECONDS": str(opts.bucket),
        "DRIFT_RECENT_SECONDS": str(opts.recent),
        "DRIFT_BASELINE_SECONDS": str(opts.baseline),
        "DRIFT_IDLE_CLOSE_SECONDS": "4",
        # the demo backfills 26 h at once: its first hour is older than the retained span the
        # worker otherwise refuses (timestamp_too_old); a backfill lifts that bound
        "DRIFT_MAX_EVENT_AGE_SECONDS": "0",
        **dict(argv_env),
    }
    print("starting Kafka, PostgreSQL, Prometheus, Alertmanager, worker and API …", flush=True)
    state = up(worker_env)
    end = time.time()
    start = end - opts.duration_h * 3600
    replay(state, opts, start)
    print("waiting for the last windows to be evaluated …", flush=True)
    wait_for_last_window(state, opts, end - opts.bucket)
    print("waiting for Prometheus rules to fire and Alertmanager to notify …", flush=True)
    wait_for_firing(state)
    text, drifted = summary(state)
    print(text, flush=True)
    return drifted
