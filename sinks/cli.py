"""`driftmon sinks`: write the worker's output topics and raw inferences to PostgreSQL."""

from __future__ import annotations

import argparse

from stream_app.config import WorkerSettings

HELP = """Consume drift results, alert transitions and pinned baselines from Kafka and upsert
them into PostgreSQL (drift_runs, alerts, baselines); unless switched off, also store the raw
inferences of the events topic in inference_logs (COPY in batches, replays ignored).
`driftmon worker` starts this as a child process by default; run it alone when the worker runs
with --no-sinks. When PostgreSQL is down the sinks wait and retry: nothing is lost.
Settings are the worker's DRIFT_* variables (`driftmon worker --settings` lists them)."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sinks", help="run the PostgreSQL sinks", description=HELP)
    p.add_argument("--bootstrap", help="Kafka bootstrap servers (DRIFT_KAFKA_BOOTSTRAP)")
    p.add_argument("--database-url", help="PostgreSQL (DRIFT_DATABASE_URL)")
    p.add_argument(
        "--no-inference-logs",
        action="store_true",
        help="do not store raw inferences (DRIFT_INFERENCE_LOGS_ENABLED=false)",
    )
    p.add_argument(
        "--parent-pid",
        type=int,
        help="stop when this process is gone (the worker passes its own pid)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, object] = {
        k: v
        for k, v in {"kafka_bootstrap": args.bootstrap, "database_url": args.database_url}.items()
        if v is not None
    }
    if args.no_inference_logs:
        overrides["inference_logs_enabled"] = False
    settings = WorkerSettings(**overrides)  # type: ignore[arg-type]

    from sinks.runner import run_sinks
    from sql.migrations import migrate

    if args.parent_pid is None:  # a child of the worker: the worker has migrated already
        migrate(settings.database_url)
    run_sinks(settings, args.parent_pid)
    return 0
