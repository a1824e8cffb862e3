"""A stand-in for ``confluent_kafka.Message`` with what the sinks' writers read, to drive a
writer against a real PostgreSQL without a broker (tests, ``bench/bench_storage.py``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Message:
    body: bytes
    at: float = 0.0  # broker time, seconds
    number: int = 0  # offset
    topic_name: str = ""

    def value(self) -> bytes:
        return self.body

    def timestamp(self) -> tuple[int, int]:
        return (1, int(self.at * 1000))  # TIMESTAMP_CREATE_TIME, ms

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self.number

    def topic(self) -> str:
        return self.topic_name
