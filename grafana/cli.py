"""`driftmon grafana build|lint|push`: dashboards as code, offline checks, publishing.

- ``build`` regenerates grafana/dashboards/*.json; ``--check`` only compares (CI: exit 1 when the
  committed JSON is not what the code builds).
- ``lint`` runs the offline checks of ``grafana.lint`` on the committed JSON.
- ``push`` checks the provisioned datasources' health in a running Grafana, then publishes the
  dashboards; credentials come from flags or DRIFT_GRAFANA_TOKEN / DRIFT_GRAFANA_USER /
  DRIFT_GRAFANA_PASSWORD.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grafana import dashboards, datasources


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("grafana", help="build, lint and publish the Grafana dashboards")
    actions = p.add_subparsers(dest="grafana_command", metavar="ACTION", required=True)

    build = actions.add_parser("build", help="regenerate grafana/dashboards/*.json")
    build.add_argument("--check", action="store_true", help="exit 1 if the committed JSON differs")
    build.add_argument("--out", type=Path, default=dashboards.DASHBOARDS_DIR, help="output dir")
    build.set_defaults(func=_build)

    lint = actions.add_parser("lint", help="offline checks of the committed dashboards")
    lint.add_argument("--dir", type=Path, default=dashboards.DASHBOARDS_DIR, help="JSON dir")
    lint.set_defaults(func=_lint)

    env = os.environ.get
    push = actions.add_parser("push", help="check datasources and publish dashboards via HTTP API")
    push.add_argument("--url", default=env("DRIFT_GRAFANA_URL"), help="env DRIFT_GRAFANA_URL")
    push.add_argument("--token", default=env("DRIFT_GRAFANA_TOKEN"), help="env DRIFT_GRAFANA_TOKEN")
    push.add_argument("--user", default=env("DRIFT_GRAFANA_USER"), help="env DRIFT_GRAFANA_USER")
    push.add_argument(
        "--password", default=env("DRIFT_GRAFANA_PASSWORD"), help="env DRIFT_GRAFANA_PASSWORD"
    )
    push.add_argument("--folder-uid", default=datasources.FOLDER_UID)
    push.add_argument("--folder-title", default=datasources.FOLDER_TITLE)
    push.add_argument("--timeout", type=float, default=10.0, help="HTTP timeout in seconds")
    push.add_argument(
        "--skip-health-check", action="store_true", help="publish even if a datasource fails"
    )
    push.set_defaults(func=_push)


def _build(args: argparse.Namespace) -> int:
    if args.check:
        stale = dashboards.stale_files(args.out)
        if stale:
            print(f"stale dashboards (run `driftmon grafana build`): {', '.join(stale)}")
            return 1
        print("dashboards are up to date")
        return 0
    for path in dashboards.write_all(args.out):
        print(f"wrote {path}")
    return 0


def _lint(args: argparse.Namespace) -> int:
    from grafana.lint import lint

    problems = lint(dashboards.load_committed(args.dir))
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


def _push(args: argparse.Namespace) -> int:
    from grafana_client import GrafanaApi
    from niquests.exceptions import RequestException

    from grafana.publish import PushError, push

    if not args.url:
        print("driftmon grafana push: --url (or DRIFT_GRAFANA_URL) is required", file=sys.stderr)
        return 2
    credential: str | tuple[str, str] | None = args.token
    if not credential and args.user:
        credential = (args.user, args.password or "")
    api = GrafanaApi.from_url(args.url, credential=credential, timeout=args.timeout)
    try:
        urls = push(
            api,
            dashboards.load_committed(),
            sorted(datasources.provisioned_datasources()),
            folder_uid=args.folder_uid,
            folder_title=args.folder_title,
            check_health=not args.skip_health_check,
        )
    except PushError as exc:
        print(f"driftmon grafana push: {exc}", file=sys.stderr)
        return 1
    except RequestException as exc:
        print(f"driftmon grafana push: cannot reach Grafana at {args.url}: {exc}", file=sys.stderr)
        return 1
    for url in urls:
        print(f"published {url}")
    return 0
