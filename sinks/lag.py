"""How far behind the PostgreSQL sinks are: the consumer lag of their groups, read from Kafka.

Every ``DRIFT_SINK_LAG_SECONDS`` the sinks process measures each of its sinks and exports
``drift_sink_lag_records{sink}`` on its own /metrics; a database outage shows as a backlog that
keeps growing. The worker measures the same groups from outside and exports the same gauge
(``stream_app.app.sink_lag_loop``): it also sees a sinks process that is gone, or one that runs
elsewhere (``driftmon worker --no-sinks``), whose own series then stops.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from prometheus_client import Gauge

from drift.topics import Topics

log = logging.getLogger(__name__)


def sink_groups(
    app_id: str, topics: Topics, inference_logs: bool = True, labels: bool = False
) -> dict[str, tuple[str, list[str]]]:
    """sink name -> (consumer group, topics it stores)."""
    groups = {
        "results": (f"{app_id}-results-sink", [topics.results, topics.alerts, topics.baselines])
    }
    if inference_logs:
        groups["inference_logs"] = (f"{app_id}-logs-sink", [topics.events])
    if labels:
        groups["labels"] = (f"{app_id}-labels-sink", [topics.labels])
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


def watch_lag(
    bootstrap: str,
    groups: dict[str, tuple[str, list[str]]],
    gauge: Gauge,
    stop: threading.Event,
    interval: float,
) -> None:
    """Set ``gauge{sink}`` to each sink's lag every ``interval`` s until ``stop`` (run it on a
    thread of its own: the calls block). While the broker is away the last values stay."""
    probe: SinkLagProbe | None = None
    failing = False
    try:
        while not stop.wait(interval):
            try:
                if probe is None:
                    probe = SinkLagProbe(bootstrap, groups)
                lags = probe.measure()
            except Exception as exc:  # the broker away: keep the last values, say so once
                if not failing:
                    log.warning("cannot measure the sinks' backlog: %s", exc)
                failing = True
                continue
            failing = False
            for sink, lag in lags.items():
                gauge.labels(sink).set(lag)
    finally:
        if probe is not None:
            probe.close()
