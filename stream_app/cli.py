"""`driftmon worker`: the stream processor (stream_app.app) and, in a child process, its sinks."""

from __future__ import annotations

import argparse
import faulthandler
import gc
import logging
import signal
import threading

from stream_app.config import WorkerSettings

log = logging.getLogger(__name__)

# Collections of the youngest generation: every 700 container allocations by default, ~5 a
# poll of 2,000 one-event records (~8% of the time at one inference per record). A poll frees
# its containers when it is done; cyclic garbage waits a little longer for its collection.
GEN0_THRESHOLD = 50_000

HELP = """Consume inference events, keep event-time histograms per model, evaluate drift each
time a bucket closes, and publish results to Kafka, PostgreSQL and /metrics.
Every option is also a DRIFT_* environment variable (e.g. DRIFT_KAFKA_BOOTSTRAP,
DRIFT_BUCKET_SECONDS); run `driftmon worker --settings` to print them all with defaults."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("worker", help="run the drift stream processor", description=HELP)
    p.add_argument("--bootstrap", help="Kafka bootstrap servers (DRIFT_KAFKA_BOOTSTRAP)")
    p.add_argument("--database-url", help="PostgreSQL for the sinks (DRIFT_DATABASE_URL)")
    p.add_argument("--web-port", type=int, help="port of /metrics (DRIFT_WEB_PORT)")
    p.add_argument(
        "--no-sinks",
        action="store_true",
        help="do not start the PostgreSQL sinks (run `driftmon sinks` elsewhere)",
    )
    p.add_argument("--settings", action="store_true", help="print every setting and exit")
    p.set_defaults(func=run)


def _settings(args: argparse.Namespace) -> WorkerSettings:
    overrides = {
        k: v
        for k, v in {
            "kafka_bootstrap": args.bootstrap,
            "database_url": args.database_url,
            "web_port": args.web_port,
        }.items()
        if v is not None
    }
    if args.no_sinks:
        overrides["sinks_enabled"] = False
    return WorkerSettings(**overrides)


def run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.settings:
        for name, field in WorkerSettings.model_fields.items():
            print(f"DRIFT_{name.upper():28} {getattr(settings, name)!r:40} {field.description}")
        return 0
    from sinks.process import SinkProcess
    from sinks.settings import from_worker
    from sql.migrations import migrate
    from stream_app.app import DriftWorker, sink_lag_loop
    from stream_app.metrics import serve
    from stream_app.topics import ensure_topics

    worker = DriftWorker(settings)
    ensure_topics(settings, worker.topics)
    gc.freeze()  # the start-up heap (modules, settings) lives on: no older collection scans it
    gc.set_threshold(GEN0_THRESHOLD, *gc.get_threshold()[1:])
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>`: every thread's stack to stderr
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = serve(worker.registry, settings.web_host, settings.web_port)
    if settings.sink_lag_seconds > 0:
        threading.Thread(target=sink_lag_loop, args=(worker, stop), daemon=True).start()
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    sinks = None
    if settings.sinks_enabled:
        migrate(settings.database_url)
        sinks = SinkProcess(from_worker(settings.model_dump()), level)
        sinks.start()
    try:
        worker.run(stop)
    finally:
        stop.set()
        server.shutdown()
        if sinks is not None:
            sinks.stop()
    return 0
