"""How far behind the PostgreSQL sinks are: the consumer lag of their groups, read from Kafka.

The worker measures it every ``DRIFT_SINK_LAG_SECONDS`` and exports ``drift_sink_lag_records``
per sink, wherever the sinks run (its child process or ``driftmon sinks`` elsewhere): a database
outage or a stopped sinks process shows as a backlog that keeps growing.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import Consumer, TopicPartition

from drift.topics import Topics
from stream_app.config import WorkerSettings


def sink_groups(settings: WorkerSettings, topics: Topics) -> dict[str, tuple[str, list[str]]]:
    """sink name -> (consumer group, topics it stores)."""
    groups = {
        "results": (
            f"{settings.app_id}-results-sink",
            [topics.results, topics.alerts, topics.baselines],
        )
    }
    if settings.inference_logs_enabled:
        groups["inference_logs"] = (f"{settings.app_id}-logs-sink", [topics.events])
    if settings.labels_enabled:
        groups["labels"] = (f"{settings.app_id}-labels-sink", [topics.labels])
    return groups


class SinkLagProbe:
    """Records each sink's group has yet to commit: end offset minus committed offset, summed
    over the partitions of its topics (a partition without a commit counts from its start).

    Committed offsets are fetched by a consumer carrying the sink's group id that never
    subscribes: it reads the group's offsets without joining it (no rebalance)."""

    def __init__(self, bootstrap: str, groups: dict[str, tuple[str, list[str]]]) -> None:
        self.bootstrap, self.groups = bootstrap, groups
        self.consumer = self._consumer("driftmon-sink-lag-probe")
        self._readers: dict[str, Consumer] = {}

    def _consumer(self, group: str) -> Consumer:
        return Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": group,
                "enable.auto.commit": False,
                "socket.timeout.ms": 5000,
            }
        )

    @staticmethod
    def _partitions(meta: dict[str, Any], topics: list[str]) -> list[TopicPartition]:
        return [
            TopicPartition(topic, p)
            for topic in topics
            if topic in meta and meta[topic].error is None
            for p in sorted(meta[topic].partitions)
        ]

    def measure(self, timeout: float = 10.0) -> dict[str, int]:
        """Lag per sink; raises KafkaException when the broker does not answer."""
        lags: dict[str, int] = {}
        meta = self.consumer.list_topics(timeout=timeout).topics
        for sink, (group, topics) in self.groups.items():
            partitions = self._partitions(meta, topics)
            reader = self._readers.get(group)
            if reader is None:
                reader = self._readers[group] = self._consumer(group)
            lag = 0
            for tp in reader.committed(partitions, timeout=timeout) if partitions else []:
                low, high = self.consumer.get_watermark_offsets(
                    TopicPartition(tp.topic, tp.partition), timeout=timeout
                )
                done = tp.offset if tp.offset >= 0 else low
                lag += max(high - done, 0)
            lags[sink] = lag
        return lags

    def close(self) -> None:
        for consumer in [self.consumer, *self._readers.values()]:
            consumer.close()
