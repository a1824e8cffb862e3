"""Start the sinks that run beside the faust worker."""

from __future__ import annotations

from drift.topics import Topics
from stream_app.config import WorkerSettings
from stream_app.sinks import TopicSink
from stream_app.writers import AlertAnnotations, InferenceLogWriter, OutputWriter


def _results_sink(settings: WorkerSettings, topics: Topics) -> TopicSink:
    s = settings
    after_commit = None
    if s.grafana_url:
        from grafana.annotations import GrafanaAnnotator

        annotator = GrafanaAnnotator(s.grafana_url, s.grafana_token or None)
        annotations = AlertAnnotations(topics.alerts, annotator.annotate_alert)
        annotations.start()  # a daemon thread with a bounded queue: never blocks the sink
        after_commit = annotations.committed
    return TopicSink(
        "results-sink",
        s.kafka_bootstrap,
        f"{s.app_id}-results-sink",
        [topics.results, topics.alerts, topics.baselines],
        s.database_url,
        OutputWriter(topics.results, topics.alerts, topics.baselines),
        after_commit=after_commit,
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
