"""`driftmon api`: serve the HTTP API with uvicorn."""

from __future__ import annotations

import argparse

from api.core.config import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``api`` subcommand."""
    defaults = Settings()
    p = sub.add_parser(
        "api",
        help="serve the HTTP API (ingest shim + query endpoints)",
        description="Serve the AI Drift Monitor HTTP API with uvicorn. Every other setting "
        "comes from DRIFT_* environment variables (DRIFT_DATABASE_URL, DRIFT_DATABASE_READ_URL, "
        "DRIFT_KAFKA_BOOTSTRAP, DRIFT_TOPIC_PREFIX, DRIFT_API_KEYS, ...); see api/core/config.py.",
    )
    p.add_argument(
        "--host", default=defaults.api_host, help=f"bind address (default {defaults.api_host})"
    )
    p.add_argument(
        "--port", type=int, default=defaults.api_port, help=f"port (default {defaults.api_port})"
    )
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument(
        "--no-migrate", action="store_true", help="do not apply SQL migrations at start-up"
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import os

    import uvicorn

    if args.no_migrate:
        os.environ["DRIFT_RUN_MIGRATIONS"] = "false"
    # the app's settings learn the bind host (an accepted Host header: DRIFT_ALLOWED_HOSTS)
    os.environ["DRIFT_API_HOST"] = args.host
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_config=None,
    )
    return 0
