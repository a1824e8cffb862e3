"""Encoded inferences waiting to be sent, grouped per model (the record key)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

Batch = tuple[str, list[Any]]  # (model key, encoded events or event dicts)


class ModelBuffers:
    """Per-model lists of events (encoded, or dicts for columnar records); a list is released
    when it holds ``batch_size`` events or its oldest event waited ``max_delay`` s. Thread-safe."""

    def __init__(
        self, batch_size: int, max_delay: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_delay < 0:
            raise ValueError(f"max_delay must be >= 0, got {max_delay}")
        self.batch_size = batch_size
        self.max_delay = max_delay
        self._clock = clock
        self._lock = threading.Lock()
        self._events: dict[str, list[Any]] = {}
        self._since: dict[str, float] = {}

    def __len__(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._events.values())

    def add(self, key: str, payload: Any) -> list[Any] | None:
        """Buffer one event; returns the model's batch when it is full (and empties it)."""
        with self._lock:
            events = self._events.setdefault(key, [])
            if not events:
                self._since[key] = self._clock()
            events.append(payload)
            if len(events) < self.batch_size:
                return None
            del self._events[key]
            return events

    def take_stale(self) -> list[Batch]:
        """Remove and return the batches whose oldest event waited at least ``max_delay``."""
        deadline = self._clock() - self.max_delay
        with self._lock:
            stale = [k for k, v in self._events.items() if v and self._since[k] <= deadline]
            return [(k, self._events.pop(k)) for k in stale]

    def take_all(self) -> list[Batch]:
        """Remove and return every non-empty batch."""
        with self._lock:
            batches = [(k, v) for k, v in self._events.items() if v]
            self._events.clear()
            return batches
