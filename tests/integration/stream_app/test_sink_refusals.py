"""A message PostgreSQL refuses for its content is skipped and named; the sink keeps writing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
import pytest
from confluent_kafka import Message
from confluent_kafka.admin import AdminClient, NewTopic

from sinks.topic_sink import TopicSink
from tests.integration.workers import produce, query, wait_for

pytestmark = pytest.mark.integration


def probe_writer(conn: psycopg.Connection[Any], msgs: Sequence[Message]) -> None:
    for msg in msgs:  # "x" is not an integer: PostgreSQL refuses it (a DataError)
        conn.execute(
            "INSERT INTO sink_probe VALUES (%s::int) ON CONFLICT DO NOTHING",
            ((msg.value() or b"").decode(),),
        )


def test_a_refused_message_is_skipped_and_the_rest_are_written(kafka, db_dsn, topic_prefix):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS sink_probe")
        conn.execute("CREATE TABLE sink_probe (n int PRIMARY KEY)")
    topic = f"{topic_prefix}sink-probe"
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    produce(kafka.bootstrap, topic, [(None, v) for v in (b"1", b"2", b"x", b"4")])
    sink = TopicSink(
        "probe-sink",
        kafka.bootstrap,
        f"{topic_prefix}probe",
        [topic],
        db_dsn,
        probe_writer,
        batch=100,
    )
    sink.start()
    try:
        wait_for(lambda: sink.written >= 4, 60, "the first four messages committed")
        assert sink.skipped == 1 and sink.is_alive()
        produce(kafka.bootstrap, topic, [(None, b"5")])
        wait_for(lambda: sink.written >= 5, 60, "a message after the refused one")
        rows = query(db_dsn, "SELECT n FROM sink_probe ORDER BY n")
        assert [r[0] for r in rows] == [1, 2, 4, 5]
        assert sink.skipped == 1 and sink.restarts == 0
    finally:
        sink.stop()
        sink.join(30)
    assert not sink.is_alive()
