"""`driftmon migrate`: apply pending SQL migrations."""

from __future__ import annotations

import argparse
import os

from sql.migrations import migrate


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("migrate", help="apply pending database migrations (idempotent)")
    p.add_argument(
        "--dsn",
        default=os.environ.get(
            "DRIFT_DATABASE_URL", "postgresql://driftmon@127.0.0.1:5432/driftmon"
        ),
        help="PostgreSQL connection string (env DRIFT_DATABASE_URL)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    applied = migrate(args.dsn)
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0
