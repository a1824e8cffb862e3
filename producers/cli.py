"""`driftmon generate`: replay a drift scenario to Kafka, a JSONL file or stdout.

Replaces the original spec's scripts/generate-data.sh. Example (the demo's default)::

    driftmon generate --scenario sudden --models 3 --duration 26h --drift-at 25h --rate 2
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

from producers.client import INFERENCE_EVENTS, INFERENCE_LABELS, DriftClient
from producers.errors import DriftError
from producers.generate import JsonlSink, KafkaSink, Plan, Sink, run
from producers.scenarios import (
    SCENARIOS,
    DriftSchedule,
    ModelSpec,
    default_model,
    embedding_model,
)

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")


def parse_duration(text: str) -> float:
    """Seconds in ``26h``, ``1h30m``, ``90s``, ``2d``, ``1.5h`` or a bare number of seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 26h, 90m, 1h30m)")
    return sum(float(n) * _UNITS[unit] for n, unit in parts)


def parse_time(text: str) -> float:
    """Epoch seconds from epoch seconds or an ISO 8601 / RFC 3339 time (naive = UTC)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a time: {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_models(text: str) -> tuple[ModelSpec, ...]:
    """``3`` → models 1, 2, 3 (int ids); ``fraud,churn`` → models with those names."""
    names: list[int | str] = (
        list(range(1, int(text) + 1)) if text.isdigit() else [n for n in text.split(",") if n]
    )
    if not names:
        raise argparse.ArgumentTypeError("--models needs a count or comma-separated names")
    return tuple(default_model(name, i) for i, name in enumerate(names))


def _with_embeddings(models: tuple[ModelSpec, ...], dim: int) -> tuple[ModelSpec, ...]:
    """The models with their ``text`` and ``image`` embeddings (the embedding scenario)."""
    return tuple(embedding_model(m.model_id, i, dim) for i, m in enumerate(models))


def add_parser(sub: Any) -> None:
    """Register `generate` on the driftmon subcommand parsers."""
    scenarios = "; ".join(f"{s.name}: {s.description}" for s in SCENARIOS.values())
    p = sub.add_parser(
        "generate",
        help="replay a synthetic drift scenario (Kafka, JSONL file or stdout)",
        description=f"Replay synthetic inferences in event time. Scenarios — {scenarios}.",
    )
    add = p.add_argument
    add("--scenario", choices=sorted(SCENARIOS), default="sudden", help="default: %(default)s")
    add("--models", type=parse_models, default="3", help="a count (ids 1..N) or a,b,c names; 3")
    add("--duration", type=parse_duration, default="26h", help="event time to cover; 26h")
    add(
        "--start",
        type=parse_time,
        help="first event time, ISO/epoch; now - duration (now with --speed)",
    )
    add("--rate", type=float, default=2.0, help="inferences per event-time second per model; 2")
    add("--drift-at", type=parse_duration, help="drift point after the start; duration - 1h")
    add("--transition", type=parse_duration, default="30m", help="gradual/incremental ramp; 30m")
    add("--period", type=parse_duration, default="20m", help="recurring on/off period; 20m")
    add("--magnitude", type=float, default=1.0, help="multiplier of every shift; 1")
    add("--embedding-dim", type=int, default=384, help="embedding scenario: dimensions; 384")
    add("--seed", type=int, default=0, help="same seed and options, same data; 0")
    add("--speed", type=float, default=0.0, help="event s per wall s (1 = live); 0 = max speed")
    add(
        "--label-delay",
        type=parse_duration,
        help="also send each event's ground truth this long after it (e.g. 1d); none by default",
    )
    add("--label-share", type=float, default=1.0, help="share of events labelled; 1")
    add("--batch-size", type=int, default=100, help="inferences per record (JSON array); 100")
    add("--output", default="kafka", help="kafka (default), a JSONL file path, or - (stdout)")
    add(
        "--bootstrap",
        default=os.environ.get("DRIFT_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        help="Kafka bootstrap servers; $DRIFT_KAFKA_BOOTSTRAP or %(default)s",
    )
    add("--topic", help="Kafka topic; inference-events with $DRIFT_TOPIC_PREFIX")
    add("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=main)


def plan_from_args(args: argparse.Namespace, now: float | None = None) -> Plan:
    """The replay plan the options describe."""
    if args.duration <= 0 or args.rate <= 0 or args.batch_size < 1:
        raise SystemExit("--duration, --rate and --batch-size must be positive")
    if not 0 <= args.label_share <= 1 or (args.label_delay or 0) < 0:
        raise SystemExit("--label-share must be in [0, 1] and --label-delay not negative")
    now = time.time() if now is None else now
    default_drift = args.duration - 3600 if args.duration > 7200 else args.duration / 2
    start = args.start if args.start is not None else now - (0 if args.speed else args.duration)
    schedule = DriftSchedule(
        drift_at=default_drift if args.drift_at is None else args.drift_at,
        transition=args.transition,
        period=args.period,
        magnitude=args.magnitude,
    )
    return Plan(
        models=_with_embeddings(args.models, args.embedding_dim)
        if SCENARIOS[args.scenario].kind == "embedding"
        else args.models,
        scenario=SCENARIOS[args.scenario],
        schedule=schedule,
        start=start,
        duration=args.duration,
        rate=args.rate,
        seed=args.seed,
        batch_size=args.batch_size,
        label_delay=args.label_delay,
        label_share=args.label_share,
    )


def _progress(stack: ExitStack, total: int, disabled: bool) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm comes with the server extra; the SDK runs without it
        return None
    bar = stack.enter_context(
        tqdm(total=total, unit="inf", unit_scale=True, file=sys.stderr, disable=disabled)
    )
    return bar.update


def _sink(stack: ExitStack, args: argparse.Namespace) -> Sink:
    if args.output == "kafka":
        prefix = os.environ.get("DRIFT_TOPIC_PREFIX", "")
        topic = args.topic or prefix + INFERENCE_EVENTS
        client = DriftClient(
            args.bootstrap,
            topic=topic,
            labels_topic=prefix + INFERENCE_LABELS,
            batch_size=args.batch_size,
        )
        stack.callback(client.close)
        return KafkaSink(client)
    single = args.batch_size == 1
    if args.output == "-":
        return JsonlSink(sys.stdout.buffer, single)
    return JsonlSink(stack.enter_context(open(args.output, "wb")), single)


def _generate(plan: Plan, args: argparse.Namespace) -> int:
    with ExitStack() as stack:  # closes the sink last: the Kafka client flushes on close
        sink = _sink(stack, args)
        progress = _progress(stack, plan.total, args.no_progress)
        return run(plan, sink, speed=args.speed, progress=progress)


def main(args: argparse.Namespace) -> int:
    plan = plan_from_args(args)
    try:
        written = _generate(plan, args)
    except BrokenPipeError:  # `driftmon generate --output - | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except DriftError as exc:  # broker down, unknown topic, lost deliveries: say so plainly
        print(f"driftmon generate: {exc}", file=sys.stderr)
        return 2
    print(f"generated {written} inferences ({plan.scenario.name})", file=sys.stderr)
    return 0
