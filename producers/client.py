"""``DriftClient``: log inferences from an ML application to Kafka.

A thin confluent-kafka wrapper in the quix-streams style: no network in ``__init__`` (the
producer is built, and the broker checked with one bounded metadata request, on first use),
delivery callbacks that count every inference, ``flush()`` on ``close()``. Inferences are
buffered per model and sent as one record of up to ``batch_size`` of them (key = model id)
when the batch is full or its oldest inference waited ``max_delay`` seconds: a columnar record
(one column per field, docs/architecture.md) by default, a JSON array with ``columnar=False``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from producers import records
from producers.buffer import Batch, ModelBuffers
from producers.delivery import DeliveryFailure, DeliveryLedger
from producers.errors import (
    BrokerUnavailable,
    DriftError,
    FlushTimeout,
    UnknownTopic,
)

logger = logging.getLogger(__name__)

# = drift.topics.INFERENCE_EVENTS (a unit test checks). Not imported: importing the `drift`
# package pulls scipy, which the SDK's few dependencies do not include.
INFERENCE_EVENTS = "inference-events"
INFERENCE_LABELS = "inference-labels"  # = drift.topics.INFERENCE_LABELS


def producer_config(
    bootstrap_servers: str, linger_ms: int, config: Mapping[str, Any]
) -> dict[str, Any]:
    """librdkafka settings: safe defaults, then ``config`` (``a_b_c`` keys mean ``a.b.c``)."""
    settings: dict[str, Any] = {
        "bootstrap.servers": bootstrap_servers,
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": "lz4",
        # murmur2 like faust and the Java clients: a model's events, commands and state
        # must land in the same partition number
        "partitioner": "murmur2_random",
        "linger.ms": linger_ms,
        "client.id": "driftmon-sdk",
    }
    settings.update({key.replace("_", "."): value for key, value in config.items()})
    return settings


class DriftClient:
    """Publish inference events to the ``inference-events`` topic.

    ``config`` passes librdkafka settings through (``message_timeout_ms=30000``). Failed
    deliveries are listed in ``errors`` and raised as ``DeliveryError`` by ``flush()``/``close()``.
    ``columnar=False`` sends JSON arrays of row events instead of columnar records;
    ``binary=False`` writes a columnar record's columns of numbers as JSON arrays instead of
    binary columns (base64 float64: readable on the topic, slower for the worker to read).
    Labels (``log_label``) are batched the same way, as JSON arrays on ``labels_topic``, and
    counted apart (``label_ledger``).
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        topic: str = INFERENCE_EVENTS,
        labels_topic: str = INFERENCE_LABELS,
        linger_ms: int = 20,
        batch_size: int = 100,
        max_delay: float = 1.0,
        connect_timeout: float = 5.0,
        validate: bool = False,
        columnar: bool = True,
        binary: bool = True,
        **config: Any,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic, self.labels_topic = topic, labels_topic
        self.connect_timeout = connect_timeout
        self.validate = validate
        self.columnar = columnar
        self.binary = binary
        self._config = producer_config(bootstrap_servers, linger_ms, config)
        self._buffers = ModelBuffers(batch_size, max_delay)
        self._label_buffers = ModelBuffers(batch_size, max_delay)
        self._producer: Producer | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._closed = False
        self.ledger = DeliveryLedger()
        self.label_ledger = DeliveryLedger()

    # -- public API -------------------------------------------------------------------------
    def log(
        self,
        model_id: records.ModelId,
        input_data: Mapping[str, Any],
        prediction: Any,
        confidence: float | None,
        timestamp: float | datetime | str | None = None,
        event_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        embeddings: Mapping[str, Any] | None = None,
    ) -> str:
        """Queue one inference for ``model_id``; returns its event id."""
        event = records.build_event(
            model_id, input_data, prediction, confidence, timestamp, event_id, metadata, embeddings
        )
        self._enqueue(records.model_key(model_id), [event])
        return str(event["event_id"])

    def log_many(self, model_id: records.ModelId, events: Sequence[Mapping[str, Any]]) -> None:
        """Queue complete event dicts of one model (as ``records.build_event`` makes them)."""
        self._enqueue(records.model_key(model_id), events)

    def log_label(
        self,
        model_id: records.ModelId,
        event_id: str,
        label: str | float | bool,
        timestamp: float | datetime | str | None = None,
    ) -> None:
        """Queue the ground truth of inference ``event_id`` (the id ``log`` returned)."""
        if self._closed:
            raise DriftError("DriftClient is closed")
        key = records.model_key(model_id)
        encoded = records.encode_event(records.build_label(model_id, event_id, label, timestamp))
        producer = self._ensure_producer()
        batch = self._label_buffers.add(key, encoded)
        if batch is not None:
            self._send_labels(key, batch)
        producer.poll(0)

    @property
    def errors(self) -> list[DeliveryFailure]:
        """Every delivery failure so far (records the broker did not acknowledge)."""
        return self.ledger.failures

    @property
    def delivered(self) -> int:
        """Inferences the broker acknowledged."""
        return self.ledger.delivered

    @property
    def failed(self) -> int:
        """Inferences lost: not acknowledged (see ``errors``)."""
        return self.ledger.failed

    @property
    def pending(self) -> int:
        """Inferences and labels buffered or in flight, not yet acknowledged nor failed."""
        labels = self.label_ledger.in_flight + len(self._label_buffers)
        return self.ledger.in_flight + len(self._buffers) + labels

    def flush(self, timeout: float = 30.0) -> None:
        """Send every buffered inference and wait for the broker's acknowledgements.

        Raises DeliveryError for failures not raised before, BrokerUnavailable when
        inferences are still pending at the deadline and the broker does not answer,
        FlushTimeout when it answers but was too slow.
        """
        self._send_batches(self._buffers.take_all(), self._label_buffers.take_all())
        if self._producer is None:
            return
        self._producer.flush(timeout)
        if self.pending:
            if not self._broker_answers():
                raise BrokerUnavailable(self.bootstrap_servers, "flush timed out", self.pending)
            raise FlushTimeout(self.pending, timeout)
        self.ledger.raise_new_failures()
        self.label_ledger.raise_new_failures()

    def close(self, timeout: float = 30.0) -> None:
        """Flush, then stop. Inferences still undelivered at the deadline are purged and
        reported as one DeliveryError: nothing is dropped silently."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._timer is not None:
            self._timer.join()
        try:
            self.flush(timeout)
        except (BrokerUnavailable, FlushTimeout) as exc:
            self._purge(str(exc))
            self.ledger.raise_new_failures()
            self.label_ledger.raise_new_failures()
        finally:
            self._producer = None

    def __enter__(self) -> DriftClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------
    def _enqueue(self, key: str, events: Sequence[Mapping[str, Any]]) -> None:
        if self._closed:
            raise DriftError("DriftClient is closed")
        producer = self._ensure_producer()
        for event in events:
            if self.validate:
                records.validate_with_server_schema(dict(event))
            encoded = records.encode_event(event)  # refuses what JSON cannot carry, here
            batch = self._buffers.add(key, records.snapshot(encoded) if self.columnar else encoded)
            if batch is not None:
                self._send(key, batch)
        producer.poll(0)

    def _ensure_producer(self) -> Producer:
        with self._lock:
            if self._producer is None:
                producer = Producer(self._config, logger=logger)
                self._check_broker(producer)
                self._producer = producer
                self._timer = threading.Thread(target=self._tick, name="driftmon-sdk", daemon=True)
                self._timer.start()
            return self._producer

    def _check_broker(self, producer: Producer) -> None:
        try:
            metadata = producer.list_topics(self.topic, timeout=self.connect_timeout)
        except KafkaException as exc:
            raise BrokerUnavailable(self.bootstrap_servers, str(exc.args[0])) from exc
        topic = metadata.topics.get(self.topic)
        error = topic.error if topic is not None else None
        if error is not None and error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            raise UnknownTopic(self.topic, self.bootstrap_servers)

    def _broker_answers(self) -> bool:
        try:
            assert self._producer is not None
            self._producer.list_topics(self.topic, timeout=min(self.connect_timeout, 5.0))
        except KafkaException:
            return False
        return True

    def _tick(self) -> None:
        """Timer thread: release batches older than ``max_delay`` and serve callbacks."""
        interval = max(self._buffers.max_delay / 2, 0.05)
        while not self._stop.wait(interval):
            try:
                self._send_batches(self._buffers.take_stale(), self._label_buffers.take_stale())
                if self._producer is not None:
                    self._producer.poll(0)
            except Exception:  # keep the timer alive; the failure is counted in _send
                logger.exception("sending a delayed batch failed")

    def _send_batches(self, batches: list[Batch], labels: list[Batch] | None = None) -> None:
        for key, batch in batches:
            self._send(key, batch)
        for key, batch in labels or []:
            self._send_labels(key, batch)

    def _send(self, key: str, batch: list[Any]) -> None:
        if self.columnar:
            value = records.encode_columnar(key, batch, self.binary)
        else:
            value = batch[0] if self._buffers.batch_size == 1 else records.join_record(batch)
        self._produce(self.topic, key, value, self.ledger.callback(len(batch)), self.ledger)

    def _send_labels(self, key: str, batch: list[bytes]) -> None:
        value = records.join_record(batch)
        ledger = self.label_ledger
        self._produce(self.labels_topic, key, value, ledger.callback(len(batch)), ledger)

    def _produce(
        self, topic: str, key: str, value: bytes, on_delivery: Any, ledger: DeliveryLedger
    ) -> None:
        producer = self._ensure_producer()
        while True:
            try:
                producer.produce(topic, value, key.encode(), on_delivery=on_delivery)
                return
            except BufferError:  # local queue full: serve callbacks, then retry
                producer.poll(0.1)
            except KafkaException as exc:
                on_delivery(exc.args[0], None)
                ledger.raise_new_failures()

    def _purge(self, reason: str) -> None:
        """Drop what the broker never took, counting it through the delivery callbacks."""
        if self._producer is None:
            return
        self._producer.purge(in_queue=True, in_flight=True, blocking=False)
        self._producer.flush(1.0)
        logger.error("purged undelivered inferences on close: %s", reason)
