"""Issue 17, defect 5 in the inference-log sink on a real PostgreSQL: partitions are created only
inside the retained span; stray days land in the default partition instead of one table each."""

from __future__ import annotations

import time

import orjson
import psycopg
import pytest

from harness.messages import Message
from sinks.writers import InferenceLogWriter

pytestmark = pytest.mark.integration


def partitions(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'inference_logs'::regclass ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def test_partitions_only_inside_the_retained_span(db_dsn):
    now = time.time()
    stamps = [86400.0 * i for i in range(1, 301)] + [now - 3600, now + 60]
    events = [
        {"model_id": "m1", "event_id": f"e{i}", "timestamp": ts, "input_data": {"f": 1.0}}
        for i, ts in enumerate(stamps)
    ]
    msg = Message(orjson.dumps(events), now, 0)
    writer = InferenceLogWriter(keep_seconds=90_000, ahead_seconds=300)
    with psycopg.connect(db_dsn) as conn:
        before = partitions(conn)
        writer(conn, [msg])  # type: ignore[list-item]
        conn.commit()
        created = sorted(set(partitions(conn)) - set(before))
        stored = conn.execute("SELECT count(*) FROM inference_logs").fetchone()
        in_default = conn.execute("SELECT count(*) FROM inference_logs_default").fetchone()
    assert 1 <= len(created) <= 3, created  # today, and yesterday / tomorrow near midnight
    assert stored == (302,) and in_default == (300,)
