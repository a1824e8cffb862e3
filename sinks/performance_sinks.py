"""The labels sink and the performance job, as the sinks process starts them (``start``), and
their metrics (label counters and performance gauges) in the sinks process's registry, served
on its ``/metrics`` by ``sinks.service``."""

from __future__ import annotations

import logging
from typing import Protocol

from prometheus_client import CollectorRegistry

from drift.topics import Topics
from sinks.labels_sink import LabelMetrics, LabelWriter, dlq_producer
from sinks.lag import sink_groups
from sinks.performance_job import JudgeSettings, PerformanceJob, PerformanceMetrics
from sinks.performance_store import PerformanceSettings
from sinks.settings import SinkSettings
from sinks.topic_sink import TopicSink

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


def performance_settings(settings: SinkSettings) -> PerformanceSettings:
    return PerformanceSettings(
        window_seconds=settings.performance_window_seconds,
        horizon_seconds=settings.label_horizon_seconds,
        grace_seconds=settings.performance_grace_seconds,
    )


def judge_settings(settings: SinkSettings) -> JudgeSettings:
    return JudgeSettings(
        baseline_windows=settings.performance_baseline_windows,
        min_labelled=settings.performance_min_labelled,
        min_drop=settings.performance_min_drop,
        fdr=settings.fdr,
    )


def start(settings: SinkSettings, topics: Topics, registry: CollectorRegistry) -> list[Stoppable]:
    """Start the labels sink and the performance job (none when labels are switched off)."""
    groups = sink_groups(settings.app_id, topics, False, settings.labels_enabled)
    group = groups.get("labels")
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


__all__ = ["Stoppable", "start"]
