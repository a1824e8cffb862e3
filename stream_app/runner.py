"""Start the sinks that run beside the faust worker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from confluent_kafka import Consumer, Message

from drift.topics import Topics
from stream_app.config import WorkerSettings
from stream_app.sinks import TopicSink
from stream_app.writers import AlertAnnotations, InferenceLogWriter, OutputWriter


class AnnotatingSink(TopicSink):
    """The results sink, handing each batch to ``annotations`` once PostgreSQL committed it."""

    def __init__(self, *args: Any, annotations: AlertAnnotations, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.annotations = annotations

    def run(self) -> None:
        self.annotations.start()
        try:
            super().run()
        finally:
            self.annotations.stop()

    def _write_until_done(
        self, consumer: Consumer, conn: psycopg.Connection[Any] | None, msgs: list[Message]
    ) -> psycopg.Connection[Any] | None:
        written = self.written
        conn = super()._write_until_done(consumer, conn, msgs)
        if self.written > written:  # committed (not given up because the sink stops)
            self.annotations.committed(msgs)
        return conn


def _results_sink(settings: WorkerSettings, topics: Topics) -> TopicSink:
    s = settings
    args: Sequence[Any] = (
        "results-sink",
        s.kafka_bootstrap,
        f"{s.app_id}-results-sink",
        [topics.results, topics.alerts, topics.baselines],
        s.database_url,
        OutputWriter(topics.results, topics.alerts, topics.baselines),
    )
    if not s.grafana_url:
        return TopicSink(*args)
    from grafana.annotations import GrafanaAnnotator

    annotator = GrafanaAnnotator(s.grafana_url, s.grafana_token or None)
    return AnnotatingSink(
        *args, annotations=AlertAnnotations(topics.alerts, annotator.annotate_alert)
    )


def start_sinks(settings: WorkerSettings, topics: Topics) -> list[TopicSink]:
    s = settings
    sinks = [_results_sink(settings, topics)]
    if s.inference_logs_enabled:
        sinks.append(
            TopicSink(
                "inference-logs-sink",
                s.kafka_bootstrap,
                f"{s.app_id}-logs-sink",
                [topics.events],
                s.database_url,
                InferenceLogWriter(s.inference_logs_sample_rate),
                batch=2000,
            )
        )
    for sink in sinks:
        sink.start()
    return sinks


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
