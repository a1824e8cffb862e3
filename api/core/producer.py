"""A thin asyncio wrapper over one confluent-kafka producer.

No network in ``__init__``: :meth:`EventProducer.start` builds the client and an asyncio task
that serves its callbacks (``poll(0)`` on the event loop). :meth:`send` resolves once the broker
acknowledged the record (acks=all, idempotent), so the API answers 202 only for stored events.

Broker state is tracked so an outage answers 503 at once instead of after a timeout: librdkafka
reports ``_ALL_BROKERS_DOWN`` through ``error_cb`` and failed deliveries mark the broker down; a
successful delivery or metadata probe (every ``probe_interval`` s while down) marks it up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from api.core.errors import ServiceUnavailable

log = logging.getLogger(__name__)
_DOWN_CODES = {KafkaError._ALL_BROKERS_DOWN, KafkaError._MSG_TIMED_OUT, KafkaError._TRANSPORT}


def producer_config(bootstrap: str, delivery_timeout_ms: int, linger_ms: int) -> dict[str, Any]:
    """Idempotent, acks=all, lz4; short timeouts so an outage is noticed within seconds."""
    return {
        "bootstrap.servers": bootstrap,
        "client.id": "driftmon-api",
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": "lz4",
        # murmur2 like faust and the Java clients: a model's events, commands and state
        # must land in the same partition number
        "partitioner": "murmur2_random",
        "linger.ms": linger_ms,
        "message.timeout.ms": delivery_timeout_ms,
        "socket.connection.setup.timeout.ms": max(1000, delivery_timeout_ms),
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
    }


class BrokerUnavailable(ServiceUnavailable):
    def __init__(self, detail: str) -> None:
        super().__init__("broker_unavailable", f"Kafka broker unreachable: {detail}")


class EventProducer:
    """Sends records and awaits their acknowledgement; knows whether the broker is reachable."""

    def __init__(self, config: dict[str, Any], probe_interval: float = 0.5) -> None:
        self._config = config
        self._probe_interval = probe_interval
        self._timeout = config.get("message.timeout.ms", 30000) / 1000 + 1.0
        self._producer: Producer | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inflight = 0
        self._wake = asyncio.Event()
        self.up = True
        self.last_error = ""

    def start(self) -> None:
        """Build the client and the task serving its callbacks (call inside the event loop).

        Callbacks are served by ``poll(0)`` on the event loop itself, every millisecond while
        records are in flight: delivery reports resolve their futures without crossing threads.
        """
        self._loop = asyncio.get_running_loop()
        self._producer = Producer(self._config, error_cb=self._on_error, logger=log)
        self._task = self._loop.create_task(self._serve(), name="kafka-poll")

    async def close(self, timeout: float = 10.0) -> None:
        """Stop serving callbacks, then deliver what is queued (up to ``timeout``)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._producer is not None:
            await asyncio.to_thread(self._producer.flush, timeout)

    @property
    def client(self) -> Producer:
        if self._producer is None:
            raise RuntimeError("EventProducer.start() was not called")
        return self._producer

    async def _serve(self) -> None:
        last_probe = 0.0
        while True:
            self.client.poll(0)
            if not self.up and time.monotonic() - last_probe > self._probe_interval:
                await asyncio.to_thread(self._probe)
                last_probe = time.monotonic()
            if self._inflight:
                await asyncio.sleep(0.001)
            else:  # idle: wait for the next produce (or 20 ms, for probes and errors)
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 0.02)

    def _probe(self) -> None:
        try:
            self.client.list_topics(timeout=min(1.0, self._probe_interval * 2))
        except KafkaException as exc:
            self.last_error = str(exc.args[0]) if exc.args else str(exc)
            return
        self._mark(True, "")

    def _mark(self, up: bool, error: str) -> None:
        if up != self.up:
            log.warning("Kafka broker %s%s", "reachable" if up else "unreachable: ", error)
        self.up, self.last_error = up, error or self.last_error

    def _on_error(self, err: KafkaError) -> None:
        if err.code() == KafkaError._ALL_BROKERS_DOWN or err.fatal():
            self._mark(False, err.str())

    def _settle(self, fut: asyncio.Future[None], err: KafkaError | None) -> None:
        self._inflight -= 1
        if fut.done():
            return
        if err is None:
            fut.set_result(None)
        else:
            fut.set_exception(BrokerUnavailable(err.str()))

    async def send_many(self, topic: str, records: list[tuple[bytes, bytes]]) -> list[bool]:
        """Produce ``(key, value)`` records; per record, whether the broker acknowledged it.

        Raises BrokerUnavailable at once while the broker is known to be down.
        """
        if not self.up:
            raise BrokerUnavailable(self.last_error or "all brokers down")
        loop = asyncio.get_running_loop()
        futures = [self._produce(loop, topic, key, value) for key, value in records]
        if not futures:
            return []
        done, pending = await asyncio.wait(futures, timeout=self._timeout)
        for fut in pending:
            fut.cancel()
        return [f in done and f.exception() is None for f in futures]

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Produce one record and wait for its acknowledgement (BrokerUnavailable otherwise)."""
        if not self.up:
            raise BrokerUnavailable(self.last_error or "all brokers down")
        fut = self._produce(asyncio.get_running_loop(), topic, key, value)
        try:
            await asyncio.wait_for(fut, self._timeout)
        except TimeoutError as exc:
            raise BrokerUnavailable("delivery timed out") from exc

    def _produce(
        self, loop: asyncio.AbstractEventLoop, topic: str, key: bytes, value: bytes
    ) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = loop.create_future()
        thread = threading.get_ident()

        def delivered(err: KafkaError | None, _msg: Message) -> None:
            if err is None:
                self.up = True
            elif err.code() in _DOWN_CODES:
                self._mark(False, err.str())
            if threading.get_ident() == thread:
                self._settle(fut, err)
            else:  # flush() at shutdown serves callbacks on another thread
                loop.call_soon_threadsafe(self._settle, fut, err)

        try:
            self.client.produce(topic, value, key, on_delivery=delivered)
            self._inflight += 1
            self._wake.set()  # the poll loop may be idling: serve this record's callback soon
        except BufferError:
            fut.set_exception(BrokerUnavailable("local produce queue is full"))
        except KafkaException as exc:
            fut.set_exception(BrokerUnavailable(str(exc)))
        return fut
