"""One Kafka transaction per batch of work: the worker's writes and its input offsets, fenced.

A transaction holds everything a stretch of the input caused — changelog writes (state),
drift-results, drift-alerts, drift-baselines, DLQ records — and the next offsets of the
records it consumed (``send_offsets_to_transaction`` with the consumer's group metadata).
Committed, all of it becomes visible to ``read_committed`` readers at once; aborted, none
of it. The group metadata carries the consumer group generation: a worker that was thrown
out of the group (a zombie: stalled past its session timeout) has its offsets refused by the
group coordinator, so its transaction aborts and its writes never show (KIP-447).

Errors (confluent-kafka): ``txn_requires_abort()`` → abort, ``fatal()`` → a new producer
(the transactional id's epoch moved on: fenced), ``retriable()`` → try the call again.
Either failure raises ``TransactionLost``: the worker then drops its in-memory state and
restores it from the changelog, and reads its partitions again from the committed offsets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition

from drift.topics import Topics
from stream_app.changelog import encode_key
from stream_app.processor import Output, Rejected

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 1_048_576  # under Kafka's default message.max.bytes (1,048,588)


class TransactionLost(Exception):
    """The open transaction was aborted or fenced: nothing of it is visible."""


@dataclass
class Batch:
    """What the open transaction holds: input offsets consumed and records produced."""

    started: float = field(default_factory=time.monotonic)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)  # next offset to read
    records: int = 0

    def consumed(self, topic: str, partition: int, offset: int) -> None:
        self.offsets[topic, partition] = max(offset + 1, self.offsets.get((topic, partition), 0))
        self.records += 1

    def positions(self) -> list[TopicPartition]:
        return [TopicPartition(t, p, o) for (t, p), o in sorted(self.offsets.items())]


def dead_letter(rej: Rejected, max_record_bytes: int) -> tuple[bytes, list[tuple[str, bytes]]]:
    """A rejected record's DLQ value and headers (``reason``, ``error``, source ``partition``
    and ``offset``). Only its refused events are kept (a partly valid array keeps just those, so
    a DLQ replay counts nothing twice); a copy over ``max_record_bytes`` is truncated (header
    ``truncated_from``) so that with its headers it fits the broker's message size."""
    value = rej.dlq_value
    headers = [
        ("reason", rej.reason.encode()),
        ("error", rej.error[:2000].encode()),
        ("partition", str(rej.record.partition).encode()),
        ("offset", str(rej.record.offset).encode()),
    ]
    if len(value) > max_record_bytes:
        headers.append(("truncated_from", str(len(value)).encode()))
        value = value[:max_record_bytes]
    return value, headers


Send = Callable[..., None]  # Producer.produce's signature


def publish(send: Send, topics: Topics, changelog: str, out: Output, max_record_bytes: int) -> int:
    """Produce everything ``out`` holds; returns the number of messages.

    Changelog writes go to the model's partition explicitly (the events partition number);
    outputs are keyed by model id (murmur2 partitioner, as every producer of the project)."""
    n = 0
    for key, (partition, value) in out.writes.items():
        send(changelog, key=encode_key(key), value=value, partition=partition)
        n += 1
    for rej in out.rejected:
        value, headers = dead_letter(rej, max_record_bytes)
        send(topics.dlq, key=rej.record.key, value=value, headers=headers)
        n += 1
    for report in out.reports:
        model_key = report.model_id.encode()
        for result in report.results:
            send(topics.results, key=model_key, value=orjson.dumps(result))
        for alert in report.alerts:
            send(topics.alerts, key=model_key, value=orjson.dumps(alert))
        n += len(report.results) + len(report.alerts)
    for snapshot in out.baselines:
        send(topics.baselines, key=snapshot["model_id"].encode(), value=orjson.dumps(snapshot))
        n += 1
    return n


def producer_config(bootstrap: str, transactional_id: str, timeout_ms: int) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "transactional.id": transactional_id,
        "transaction.timeout.ms": timeout_ms,
        "partitioner": "murmur2_random",  # the Java clients' (and faust's) partitioner
        "linger.ms": 5,
        "compression.type": "lz4",
        "message.max.bytes": MAX_MESSAGE_BYTES + 64 * 1024,  # a DLQ copy plus its headers
        "queue.buffering.max.messages": 1_000_000,
        "queue.buffering.max.kbytes": 1_048_576,
    }


class Transactions:
    """The worker's transactional producer: begin, send, commit with offsets, abort.

    ``init_transactions`` with the worker's transactional id aborts what a previous process
    with the same id left open (a kill -9) and fences that process's producer."""

    def __init__(self, config: dict[str, Any], call_timeout: float = 60.0) -> None:
        self.config, self.call_timeout = config, call_timeout
        self.producer: Producer | None = None
        self.open: Batch | None = None

    def start(self) -> None:
        """A new producer, its transactional id initialised (waits out a broker outage)."""
        self.producer = Producer(self.config)
        while True:
            try:
                self._retrying(lambda p: p.init_transactions(self.call_timeout))
                return
            except KafkaException as exc:
                if not exc.args[0].retriable():
                    raise

    def _retrying(self, call: Callable[[Producer], Any]) -> Any:
        """``call`` on the current producer, again while it fails retriably (for at most
        twice the call timeout)."""
        producer, deadline = self.producer, time.monotonic() + 2 * self.call_timeout
        assert producer is not None
        while True:
            try:
                return call(producer)
            except KafkaException as exc:
                error: KafkaError = exc.args[0]
                retriable = error.retriable() and not error.txn_requires_abort()
                if retriable and not error.fatal() and time.monotonic() < deadline:
                    log.warning("transaction call failed, trying again: %s", error)
                    time.sleep(0.5)
                    continue
                raise

    def _bounded(self, call: Callable[[Producer], Any]) -> Any:
        """``_retrying`` on a helper thread, given up after its deadline.

        librdkafka's ``send_offsets_to_transaction`` can block for ever after the group
        coordinator went away and came back (it ignores its timeout: confluentinc/librdkafka
        #5456, #5511; seen here after a broker restart). A call still blocked is abandoned with
        its producer: a new producer with the same transactional id fences it and aborts its
        transaction (``init_transactions``)."""
        done, box = threading.Event(), {}

        def target() -> None:
            try:
                box["result"] = self._retrying(call)
            except BaseException as exc:
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=target, name="transaction-call", daemon=True).start()
        if not done.wait(2 * self.call_timeout + 5):
            log.error("a transaction call hangs: abandoning the producer, starting a new one")
            self.producer = None  # not closed: its blocked call holds it
            self.start()
            raise TransactionLost("a transaction call hung; its producer was replaced")
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def batch(self) -> Batch:
        """The open transaction (begun on first use)."""
        if self.open is None:
            assert self.producer is not None
            self.producer.begin_transaction()
            self.open = Batch()
        return self.open

    def send(self, topic: str, **kwargs: Any) -> None:
        assert self.producer is not None and self.open is not None
        while True:
            try:
                self.producer.produce(topic, **kwargs)
                return
            except BufferError:  # the local queue is full: let deliveries make room
                self.producer.poll(0.1)
            except KafkaException as exc:
                error: KafkaError = exc.args[0]
                if error.code() == KafkaError._STATE or error.fatal() or error.txn_requires_abort():
                    # the transaction failed already (fenced, timed out by the broker)
                    raise TransactionLost(str(error)) from exc
                raise

    def commit(self, group_metadata: Any) -> Batch | None:
        """Commit the open transaction with its input offsets; None when none was open.
        Raises ``TransactionLost`` when it was aborted or fenced instead."""
        batch, self.open = self.open, None
        if batch is None:
            return None
        try:
            if batch.offsets:
                self._bounded(
                    lambda p: p.send_offsets_to_transaction(
                        batch.positions(), group_metadata, self.call_timeout
                    )
                )
            self._bounded(lambda p: p.commit_transaction(self.call_timeout))
        except KafkaException as exc:
            self._recover(exc.args[0])
            raise TransactionLost(str(exc.args[0])) from exc
        return batch

    def abort(self, why: str) -> None:
        """Abort the open transaction (if any); a producer that cannot is replaced."""
        batch, self.open = self.open, None
        if batch is None:
            return
        log.warning("aborting a transaction of %d records: %s", batch.records, why)
        try:
            self._retrying(lambda p: p.abort_transaction(self.call_timeout))
        except KafkaException as exc:
            self._recover(exc.args[0])

    def _recover(self, error: KafkaError) -> None:
        if error.txn_requires_abort() and not error.fatal():
            log.warning("transaction failed, aborting it: %s", error)
            try:
                self._retrying(lambda p: p.abort_transaction(self.call_timeout))
                return
            except KafkaException as exc:
                error = exc.args[0]
        log.error("transactional producer unusable (%s): starting a new one", error)
        self.close()
        self.start()

    def poll(self) -> None:
        if self.producer is not None:
            self.producer.poll(0)

    def close(self) -> None:
        producer, self.producer = self.producer, None
        if producer is None:
            return
        try:
            producer.flush(5)
        except KafkaException as exc:  # a fenced producer cannot: what it held is aborted
            log.info("closing the transactional producer: %s", exc.args[0])
