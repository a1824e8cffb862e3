"""Shared helpers of the performance tests: logged inferences as the inference-log sink
writes them (Kafka and waiting: tests/integration/workers.py, api_support.consume)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

Event = tuple[str, float, str, float, str]  # event id, time, predicted, confidence, truth


def log_inferences(conn: psycopg.Connection[Any], model: str, events: Iterable[Event]) -> None:
    """Rows of ``inference_logs`` as the inference-log sink writes them."""
    with conn.cursor().copy(
        "COPY inference_logs (model_id, event_id, event_time, input_data, prediction, confidence)"
        " FROM STDIN"
    ) as copy:
        for eid, t, p, c, _ in events:
            copy.write_row(
                (model, eid, datetime.fromtimestamp(t, UTC), "{}", orjson.dumps(p).decode(), c)
            )
