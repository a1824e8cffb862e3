"""Topic declaration: the worker creates every topic it reads or writes, partitions checked."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from drift.topics import Topics
from stream_app.config import WorkerSettings

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient


def ensure_topics(settings: WorkerSettings, topics: Topics) -> None:
    """Declare every topic with the configured partition count (existing ones are kept).

    The source topic and the control topic must have the same partition count as the state
    table's changelog: a model's events, commands and state live in the same partition.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    wanted = [NewTopic(name, settings.partitions, 1) for name in topics.all()]
    for name, future in admin.create_topics(wanted, operation_timeout=30).items():
        try:
            future.result(60)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise RuntimeError(f"could not create topic {name}: {exc}") from exc
    partitions = _partition_count(admin, topics.events)
    if partitions != settings.partitions:
        raise RuntimeError(
            f"topic {topics.events} has {partitions} partitions but "
            f"DRIFT_PARTITIONS={settings.partitions}: they must match"
        )


def _partition_count(admin: AdminClient, topic: str, timeout: float = 30.0) -> int:
    """The topic's partition count once the broker's metadata knows it.

    Right after a topic is created (by us or by a producer at the same moment) the metadata can
    list it with an error and no partitions yet; that is not a mismatch, so ask again until the
    topic's metadata is complete or the timeout passes.
    """
    deadline = time.monotonic() + timeout
    while True:
        meta = admin.list_topics(topic, timeout=timeout).topics[topic]
        if (meta.error is None and meta.partitions) or time.monotonic() > deadline:
            return len(meta.partitions)
        time.sleep(0.2)
