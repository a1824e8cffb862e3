"""Delivery accounting: every inference handed to librdkafka ends delivered or failed."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message

from producers.errors import DeliveryError

logger = logging.getLogger(__name__)
DeliveryCallback = Callable[[KafkaError | None, Message | None], None]


@dataclass(frozen=True)
class DeliveryFailure:
    """A record the broker did not acknowledge: how many inferences it carried, and why."""

    inferences: int
    reason: str


class DeliveryLedger:
    """Counts inferences sent, delivered and failed (per record, via delivery callbacks).

    Thread-safe: callbacks run in whichever thread calls ``poll()``/``flush()``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent = 0
        self.delivered = 0
        self.failed = 0
        self._failures: list[DeliveryFailure] = []
        self._reported = 0  # failures already raised as DeliveryError

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self.sent - self.delivered - self.failed

    @property
    def failures(self) -> list[DeliveryFailure]:
        with self._lock:
            return list(self._failures)

    def callback(self, inferences: int) -> DeliveryCallback:
        """Count ``inferences`` as sent; the returned callback settles them."""
        with self._lock:
            self.sent += inferences
        return functools.partial(self.settle, inferences)

    def settle(self, inferences: int, err: KafkaError | None, msg: Message | None = None) -> None:
        """Delivery callback of one record carrying ``inferences``."""
        with self._lock:
            if err is None:
                self.delivered += inferences
                return
            self.failed += inferences
            self._failures.append(DeliveryFailure(inferences, err.str()))
        logger.warning("%d inference(s) not delivered: %s", inferences, err.str())

    def raise_new_failures(self) -> None:
        """DeliveryError for the failures not raised before (each is raised once)."""
        with self._lock:
            new = self._failures[self._reported :]
            self._reported = len(self._failures)
        if new:
            raise DeliveryError(sum(f.inferences for f in new), [f.reason for f in new])
