"""PostgreSQL sinks: consumers of the worker's output topics, decoupled from drift detection.

Each sink reads a batch, writes it in one transaction with idempotent statements (upserts,
ON CONFLICT DO NOTHING), and only then commits the Kafka offsets. When PostgreSQL is down the
sink pauses its partitions, keeps polling (so it stays in the group) and retries the same batch:
results are delayed, never lost, and the faust worker never waits for the database.

A batch that PostgreSQL refuses for its content (not its availability) is written message by
message; a message refused on its own is logged with its topic, partition and offset, counted
in ``skipped`` and passed, so one bad message never stops a sink. Any other failure of the
sink's loop is logged and the loop starts again with a fresh consumer after a pause.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from confluent_kafka import Consumer, Message

log = logging.getLogger(__name__)

Writer = Callable[[psycopg.Connection[Any], Sequence[Message]], None]
AfterCommit = Callable[[Sequence[Message]], None]


class TopicSink(threading.Thread):
    def __init__(
        self,
        name: str,
        bootstrap: str,
        group: str,
        topics: list[str],
        dsn: str,
        writer: Writer,
        batch: int = 500,
        after_commit: AfterCommit | None = None,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.bootstrap, self.group, self.topics = bootstrap, group, topics
        self.dsn, self.writer, self.batch = dsn, writer, batch
        self.after_commit = after_commit  # e.g. Grafana annotations; must not block
        self.stopping = threading.Event()
        self.written = 0
        self.failures = 0
        self.skipped = 0
        self.restarts = 0

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._consume()
            except Exception:
                self.restarts += 1
                log.exception("%s failed; starting again in 5 s", self.name)
                self.stopping.wait(5.0)

    def _consume(self) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": self.group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
            }
        )
        consumer.subscribe(self.topics)
        conn: psycopg.Connection[Any] | None = None
        try:
            while not self.stopping.is_set():
                msgs = [m for m in consumer.consume(self.batch, timeout=0.5) if not m.error()]
                if msgs:
                    conn = self._write_until_done(consumer, conn, msgs)
        finally:
            consumer.close()
            if conn is not None:
                conn.close()

    def _write_until_done(
        self, consumer: Consumer, conn: psycopg.Connection[Any] | None, msgs: list[Message]
    ) -> psycopg.Connection[Any] | None:
        backoff = 0.5
        one_by_one = False
        while not self.stopping.is_set():
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.dsn, connect_timeout=5)
                if one_by_one:
                    self._write_each(conn, msgs)
                else:
                    with conn.transaction():
                        self.writer(conn, msgs)
                consumer.commit(asynchronous=False)
                self.written += len(msgs)
                if self.after_commit is not None:
                    self.after_commit(msgs)
                return conn
            except psycopg.OperationalError as exc:
                self.failures += 1
                log.warning(
                    "%s: PostgreSQL unavailable (%s); retrying in %.1fs",
                    self.name,
                    str(exc).strip().splitlines()[0],
                    backoff,
                )
                if conn is not None:
                    conn.close()
                conn = None
                self._wait_paused(consumer, backoff)
                backoff = min(backoff * 2, 10.0)
            except Exception as exc:
                if one_by_one:
                    raise
                log.error(
                    "%s: a batch of %d messages was refused (%s); writing them one by one",
                    self.name,
                    len(msgs),
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                )
                one_by_one = True
        return conn

    def _write_each(self, conn: psycopg.Connection[Any], msgs: list[Message]) -> None:
        for msg in msgs:
            try:
                with conn.transaction():
                    self.writer(conn, [msg])
            except psycopg.OperationalError:
                raise
            except Exception as exc:
                self.skipped += 1
                log.error(
                    "%s: skipped %s[%d]@%d, which PostgreSQL refuses: %s",
                    self.name,
                    msg.topic(),
                    msg.partition() or 0,
                    msg.offset() or 0,
                    exc,
                )

    def _wait_paused(self, consumer: Consumer, seconds: float) -> None:
        """Sleep while polling with paused partitions, so the group keeps us."""
        assignment = consumer.assignment()
        consumer.pause(assignment)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.stopping.is_set():
            consumer.poll(0.2)
        consumer.resume(assignment)
