"""`driftmon stack`: run the whole stack locally without Docker (demo, up, down, status)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

HELP = """Run Kafka (from Maven Central jars), PostgreSQL, Prometheus and Alertmanager (Debian
packages), the worker and the API on free loopback ports, without Docker. State and logs live in
./.stack/. `demo` also replays a drifting scenario and prints what drifted."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "stack", help="run the local stack (demo, up, down, status)", description=HELP
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    demo = actions.add_parser(
        "demo",
        help="start the stack, replay a drifting scenario, "
        "print a summary (the stack keeps running)",
    )
    demo.add_argument("--duration", type=float, default=26.0, help="hours of event time (26)")
    demo.add_argument(
        "--rate", type=float, default=2.0, help="inferences per event-time second per model (2)"
    )
    demo.add_argument("--bucket", type=int, default=300, help="bucket seconds (300)")
    demo.add_argument("--recent", type=int, default=3600, help="recent window seconds (3600)")
    demo.add_argument("--baseline", type=int, default=86400, help="baseline seconds (86400)")
    demo.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for results")
    actions.add_parser("up", help="start the stack and print its addresses")
    actions.add_parser("down", help="stop the stack and remove its data")
    actions.add_parser("status", help="print the running stack's addresses")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.stack import StackState, down, up

    if args.action == "down":
        print("stack stopped" if down() else "no stack is running")
        return 0
    if args.action == "status":
        state = StackState.load()
        print(json.dumps(asdict(state), indent=2) if state else "no stack is running")
        return 0 if state else 1
    if args.action == "up":
        print(json.dumps(asdict(up()), indent=2))
        return 0
    from harness.demo import DemoOptions, run_demo

    run_demo(
        DemoOptions(args.duration, args.rate, args.bucket, args.recent, args.baseline, args.timeout)
    )
    return 0
