"""`driftmon sinks`: write the worker's output topics and raw inferences to PostgreSQL."""

from __future__ import annotations

import argparse

from sinks.settings import SinkSettings

HELP = """Consume drift results, alert transitions and pinned baselines from Kafka and upsert
them into PostgreSQL (drift_runs, alerts, baselines); unless switched off, also store the raw
inferences of the events topic in inference_logs (COPY in batches, replays ignored).
Every DRIFT_RETENTION_INTERVAL_SECONDS a retention job drops inference_logs days older than
DRIFT_LOG_RETENTION_DAYS (14) and rolls drift_runs older than DRIFT_RUNS_ROLLUP_DAYS (30) up
into hourly rows (drift_runs_hourly). Each sink's backlog is drift_sink_lag_records{sink} on
/metrics (DRIFT_SINKS_WEB_PORT, 6067).
`driftmon worker` starts this as a child process by default; run it alone when the worker runs
with --no-sinks. When PostgreSQL is down the sinks wait and retry: nothing is lost.
Every option is also a DRIFT_* variable; `driftmon sinks --settings` lists them all."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sinks", help="run the PostgreSQL sinks", description=HELP)
    p.add_argument("--bootstrap", help="Kafka bootstrap servers (DRIFT_KAFKA_BOOTSTRAP)")
    p.add_argument("--database-url", help="PostgreSQL (DRIFT_DATABASE_URL)")
    p.add_argument("--web-port", type=int, help="port of /metrics (DRIFT_SINKS_WEB_PORT)")
    p.add_argument(
        "--no-inference-logs",
        action="store_true",
        help="do not store raw inferences (DRIFT_INFERENCE_LOGS_ENABLED=false)",
    )
    p.add_argument(
        "--retention-once",
        action="store_true",
        help="run the retention job once, print what it did and exit (no sinks)",
    )
    p.add_argument(
        "--parent-pid",
        type=int,
        help="stop when this process is gone (the worker passes its own pid)",
    )
    p.add_argument("--settings", action="store_true", help="print every setting and exit")
    p.set_defaults(func=run)


def _settings(args: argparse.Namespace) -> SinkSettings:
    given = {
        "kafka_bootstrap": args.bootstrap,
        "database_url": args.database_url,
        "sinks_web_port": args.web_port,
    }
    overrides: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    if args.no_inference_logs:
        overrides["inference_logs_enabled"] = False
    return SinkSettings(**overrides)  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.settings:
        for name, field in SinkSettings.model_fields.items():
            print(f"DRIFT_{name.upper():28} {getattr(settings, name)!r:40} {field.description}")
        return 0

    from sql.migrations import migrate

    if args.parent_pid is None:  # a child of the worker: the worker has migrated already
        migrate(settings.database_url)
    if args.retention_once:
        from prometheus_client import CollectorRegistry

        from sinks.metrics import SinkMetrics
        from sinks.retention import RetentionJob

        s = settings
        job = RetentionJob(
            s.database_url,
            s.log_retention_days,
            s.runs_rollup_days,
            0,
            SinkMetrics(CollectorRegistry()),
        )
        print(job.run_once())
        return 0
    from sinks.service import run_sinks

    run_sinks(settings, args.parent_pid)
    return 0
