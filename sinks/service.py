"""The sinks process: the topic sinks, their lag, the retention job and /metrics.

``driftmon sinks`` runs this, as the worker's child (``sinks.process.SinkProcess``) or alone
for deployments that place the sinks elsewhere (``driftmon worker --no-sinks``).
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from prometheus_client import CollectorRegistry, start_http_server

from drift.topics import Topics
from sinks import performance_sinks
from sinks.lag import sink_groups, watch_lag
from sinks.metrics import SinkMetrics
from sinks.performance_sinks import Stoppable
from sinks.retention import RetentionJob
from sinks.settings import SinkSettings
from sinks.topic_sink import TopicSink
from sinks.writers import AlertAnnotations, InferenceLogWriter, OutputWriter

log = logging.getLogger(__name__)


def _groups(settings: SinkSettings, topics: Topics) -> dict[str, tuple[str, list[str]]]:
    return sink_groups(
        settings.app_id, topics, settings.inference_logs_enabled, settings.labels_enabled
    )


def _results_sink(settings: SinkSettings, topics: Topics) -> TopicSink:
    s = settings
    group, sources = _groups(settings, topics)["results"]
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
        group,
        sources,
        s.database_url,
        OutputWriter(topics.results, topics.alerts, topics.baselines),
        after_commit=after_commit,
    )


def start_sinks(settings: SinkSettings, topics: Topics) -> list[TopicSink]:
    s = settings
    sinks = [_results_sink(settings, topics)]
    logs = _groups(settings, topics).get("inference_logs")
    if logs is not None:
        sinks.append(
            TopicSink(
                "inference-logs-sink",
                s.kafka_bootstrap,
                logs[0],
                logs[1],
                s.database_url,
                InferenceLogWriter(
                    s.inference_logs_sample_rate,
                    keep_seconds=s.recent_seconds + s.baseline_seconds,
                    horizon=s.dedup_horizon_seconds,
                    time_bounds=(s.max_future_seconds, s.event_age_bound()),
                ),
                batch=2000,
            )
        )
    for sink in sinks:
        sink.start()
    return sinks


def serve_metrics(registry: CollectorRegistry, settings: SinkSettings) -> None:
    """/metrics on ``sinks_web_port``; a port in use is logged, never fatal: the sinks keep
    writing (several workers' sinks children on one host share the default port)."""
    if settings.sinks_web_port == 0:
        return
    try:
        start_http_server(settings.sinks_web_port, settings.web_host, registry)
    except OSError as exc:
        log.warning("sinks /metrics not served on port %d: %s", settings.sinks_web_port, exc)


def start_side_jobs(settings: SinkSettings, metrics: SinkMetrics, stop: threading.Event) -> None:
    """The lag measurement and the retention job, each on a daemon thread of its own."""
    s = settings
    if s.sink_lag_seconds > 0:
        groups = _groups(settings, Topics(s.topic_prefix))
        lag = (s.kafka_bootstrap, groups, metrics.lag, stop, s.sink_lag_seconds)
        threading.Thread(target=watch_lag, args=lag, name="sink-lag", daemon=True).start()
    if s.retention_interval_seconds > 0:
        job = RetentionJob(
            s.database_url,
            s.log_retention_days,
            s.runs_rollup_days,
            s.retention_interval_seconds,
            metrics,
        )
        threading.Thread(target=job.loop, args=(stop,), name="retention", daemon=True).start()


def run_sinks(settings: SinkSettings, parent_pid: int | None = None) -> None:
    """Run the sinks until SIGTERM or SIGINT, or until process ``parent_pid`` is gone."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    registry = CollectorRegistry()
    metrics = SinkMetrics(registry)
    serve_metrics(registry, settings)
    topics = Topics(settings.topic_prefix)
    sinks: list[Stoppable] = [*start_sinks(settings, topics)]
    sinks += performance_sinks.start(settings, topics, registry)  # labels + performance job
    start_side_jobs(settings, metrics, stop)
    log.info("sinks running: %s", ", ".join(s.name for s in sinks))
    while not stop.wait(0.5):
        if parent_pid is not None and os.getppid() != parent_pid:
            log.warning("the worker (pid %d) is gone: stopping the sinks", parent_pid)
            break
    stop.set()
    for sink in sinks:
        sink.stop()
    for sink in sinks:
        sink.join(15)
