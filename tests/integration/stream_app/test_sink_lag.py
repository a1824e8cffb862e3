"""The sinks' backlog: end offsets minus their groups' committed offsets, on a real broker."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, TopicPartition

from sinks.lag import SinkLagProbe
from tests.integration.workers import produce

pytestmark = pytest.mark.integration


def test_lag_counts_what_each_group_has_not_committed(kafka, topic_prefix):
    topic, other = f"{topic_prefix}-lag-a", f"{topic_prefix}-lag-b"
    kafka.create_topics([topic, other], partitions=2)
    produce(kafka.bootstrap, topic, [(f"k{i}", b"x") for i in range(30)])
    produce(kafka.bootstrap, other, [(f"k{i}", b"y") for i in range(5)])
    probe = SinkLagProbe(kafka.bootstrap, {})
    try:
        ends = [
            probe.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in (0, 1)
        ]
        assert sum(ends) == 30 and min(ends) > 0  # both partitions hold records
        group = f"{topic_prefix}-sink"
        sink = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": group})
        sink.commit(offsets=[TopicPartition(topic, 0, ends[0] - 2)], asynchronous=False)
        sink.close()
        probe.groups = {
            "stored": (group, [topic, other, f"{topic_prefix}-missing"]),
            "never": (f"{topic_prefix}-idle", [topic]),
        }
        assert probe.measure() == {"stored": 2 + ends[1] + 5, "never": 30}
    finally:
        probe.close()
