"""Topic declaration: the worker creates every topic it reads or writes, partitions checked."""

from __future__ import annotations

from drift.topics import Topics
from stream_app.config import WorkerSettings


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
    meta = admin.list_topics(topics.events, timeout=30).topics[topics.events]
    if len(meta.partitions) != settings.partitions:
        raise RuntimeError(
            f"topic {topics.events} has {len(meta.partitions)} partitions but "
            f"DRIFT_PARTITIONS={settings.partitions}: they must match"
        )
