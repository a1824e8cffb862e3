"""Render the configuration: ``python -m prometheus {prometheus,alertmanager} [options]``.

Containers run the ``alertmanager`` command at start, so email and Slack settings come from the
``DRIFT_ALERT_*`` environment (see ``prometheus.channels``). Without options both commands print
the docker-compose configuration, which is what the committed files hold.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from prometheus import config
from prometheus.channels import channels_from_env


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m prometheus", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    prom = sub.add_parser("prometheus", help="render prometheus.yml")
    prom.add_argument("--worker-target", action="append", dest="workers")
    prom.add_argument("--api-target", action="append", dest="apis")
    prom.add_argument("--sinks-target", action="append", dest="sinks")
    prom.add_argument("--alertmanager-url", default=config.COMPOSE_ALERTMANAGER_URL)
    prom.add_argument("--rule-file", action="append", dest="rule_files")
    prom.add_argument("--scrape-interval", default="15s")
    prom.add_argument("--evaluation-interval", default="15s")
    am = sub.add_parser("alertmanager", help="render alertmanager.yml (DRIFT_ALERT_* from env)")
    am.add_argument("--webhook-url", default=config.COMPOSE_WEBHOOK_URL)
    am.add_argument(
        "--webhook-credentials-file",
        default=config.COMPOSE_WEBHOOK_CREDENTIALS_FILE,
        help="file holding an API key sent as Authorization: Bearer ('' = none)",
    )
    am.add_argument("--group-wait", default="30s")
    am.add_argument("--group-interval", default="5m")
    am.add_argument("--repeat-interval", default="4h")
    for command in (prom, am):
        command.add_argument("--out", type=Path, help="write here instead of stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "prometheus":
            text = config.render_prometheus_config(
                args.workers or config.COMPOSE_WORKER_TARGETS,
                args.apis or config.COMPOSE_API_TARGETS,
                args.alertmanager_url,
                args.rule_files or config.COMPOSE_RULE_FILES,
                args.scrape_interval,
                args.evaluation_interval,
                args.sinks or config.COMPOSE_SINKS_TARGETS,
            )
        else:
            text = config.render_alertmanager_config(
                args.webhook_url,
                args.group_wait,
                args.group_interval,
                args.repeat_interval,
                channels=channels_from_env(os.environ),
                webhook_credentials_file=args.webhook_credentials_file or None,
            )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
