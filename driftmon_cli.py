"""`driftmon`: the one console command.

Each subcommand lives with the package it drives and is imported only when used, so
`driftmon generate` does not import the server stack. A command module exposes
``add_parser(subparsers) -> None``; the parser it adds sets ``func`` (args -> exit code).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# subcommand -> module providing add_parser()
COMMANDS: dict[str, str] = {
    "worker": "stream_app.cli",
    "sinks": "sinks.cli",
    "api": "api.cli",
    "accept": "api.accept_cli",
    "generate": "producers.cli",
    "stack": "harness.cli",
    "grafana": "grafana.cli",
    "migrate": "sql.cli",
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftmon",
        description="AI Drift Monitor: streaming drift detection for ML models.",
        epilog="Run `driftmon COMMAND --help` for the options of a command. "
        "Settings are also read from DRIFT_* environment variables.",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = [a for a in argv if a in COMMANDS][:1] or list(COMMANDS)
    for name in COMMANDS:
        if name in wanted:
            importlib.import_module(COMMANDS[name]).add_parser(sub)
        else:  # listed in --help without importing its module
            sub.add_parser(name, help=f"see `driftmon {name} --help`")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
