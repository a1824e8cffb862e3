"""The labels sink and the performance job, as the sinks process starts them (``start``), and
the sinks process's own ``/metrics`` (the label counters and performance gauges)."""

from __future__ import annotations

import logging
from typing import Protocol

from prometheus_client import CollectorRegistry, start_http_server

from drift.topics import Topics
from stream_app.config import WorkerSettings
from stream_app.labels_sink import LabelMetrics, LabelWriter, dlq_producer
from stream_app.performance_job import JudgeSettings, PerformanceJob, PerformanceMetrics
from stream_app.performance_store import PerformanceSettings
from stream_app.sink_lag import sink_groups
from stream_app.sinks import TopicSink

log = logging.getLogger(__name__)


class Stoppable(Protocol):
    name: str

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def join(self, timeout: float | None = None) -> None: ...


class LabelsSink(TopicSink):
    """A TopicSink whose writer copies refused labels to the DLQ: flushed when it stops."""

    def run(self) -> None:
        super().run()
        if isinstance(self.writer, LabelWriter) and self.writer.dlq is not None:
            self.writer.dlq.flush(10.0)


def performance_settings(settings: WorkerSettings) -> PerformanceSettings:
    return PerformanceSettings(
        window_seconds=settings.performance_window_seconds,
        horizon_seconds=settings.label_horizon_seconds,
        grace_seconds=settings.performance_grace_seconds,
    )


def judge_settings(settings: WorkerSettings) -> JudgeSettings:
    return JudgeSettings(
        baseline_windows=settings.performance_baseline_windows,
        min_labelled=settings.performance_min_labelled,
        min_drop=settings.performance_min_drop,
        fdr=settings.fdr,
    )


def serve_metrics(settings: WorkerSettings, registry: CollectorRegistry) -> None:
    """``/metrics`` of the sinks process on ``sinks_web_port`` (-1: web port + 1); a port
    taken is logged, never fatal: the sinks keep storing."""
    port = settings.sinks_web_port
    port = settings.web_port + 1 if port < 0 else port
    if port == 0:
        return
    try:
        start_http_server(port, settings.web_host, registry)  # a daemon thread
    except OSError as exc:
        log.error("sinks /metrics not served on %s:%d: %s", settings.web_host, port, exc)


def start(settings: WorkerSettings, topics: Topics, registry: CollectorRegistry) -> list[Stoppable]:
    """Start the labels sink and the performance job (none when labels are switched off)."""
    group = sink_groups(settings, topics).get("labels")
    if group is None:
        return []
    perf = performance_settings(settings)
    writer = LabelWriter(
        perf,
        LabelMetrics(registry, settings.max_models),
        lambda: dlq_producer(settings.kafka_bootstrap),
        topics.labels_dlq,
    )
    sink = LabelsSink(
        "labels-sink",
        settings.kafka_bootstrap,
        group[0],
        group[1],
        settings.database_url,
        writer,
        batch=2000,
        after_commit=writer.committed,
    )
    threads: list[Stoppable] = [sink]
    if settings.performance_interval_seconds > 0:
        threads.append(
            PerformanceJob(
                settings.database_url,
                perf,
                judge_settings(settings),
                PerformanceMetrics(registry),
                settings.performance_interval_seconds,
            )
        )
    for thread in threads:
        thread.start()
    return threads


__all__ = ["serve_metrics", "start"]
