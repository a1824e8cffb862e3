"""`driftmon accept`: accept a drift as the new normal through the API (POST /models/{id}/accept).

The worker judges a stream in drift against the baseline frozen when its alert opened; accepting
drops that baseline (one stream, or every stream of the model) and records who accepted it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

DEFAULT_API = "http://127.0.0.1:8000"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "accept",
        help="accept a model's drift as the new normal (drops its frozen baselines)",
        description="Send accept_change for MODEL through the API and wait for its answer "
        "(202 once the broker acknowledged the command).",
    )
    p.add_argument("model", metavar="MODEL", help="model id")
    p.add_argument("--stream", help="only this stream (default: every frozen stream)")
    p.add_argument("--by", help="who accepts (default: the API key's name, or 'api')")
    p.add_argument(
        "--api",
        default=os.environ.get("DRIFT_API_URL", DEFAULT_API),
        help=f"API base URL (env DRIFT_API_URL, default {DEFAULT_API})",
    )
    p.add_argument(
        "--api-key",
        default=os.environ.get("DRIFT_API_KEY"),
        help="X-API-Key to send (env DRIFT_API_KEY)",
    )
    p.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import httpx

    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    url = f"{args.api.rstrip('/')}/models/{args.model}/accept"
    try:
        resp = httpx.post(
            url,
            json={"stream": args.stream, "by": args.by},
            headers=headers,
            timeout=args.timeout,
        )
    except httpx.HTTPError as exc:
        print(f"driftmon accept: {url}: {exc}", file=sys.stderr)
        return 2
    if resp.status_code != 202:
        print(f"driftmon accept: {resp.status_code} {resp.text}", file=sys.stderr)
        return 1
    print(json.dumps(resp.json()))
    return 0
