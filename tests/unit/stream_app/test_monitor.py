"""The worker's faust monitor sets the same faust series as faust's own, plus consumer lag."""

from __future__ import annotations

from typing import Any

import pytest
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.types import TP
from prometheus_client import CollectorRegistry, Gauge

from stream_app.metrics import LagMonitor

pytestmark = pytest.mark.unit


class Owner:
    pass


class FakeStream:
    def __init__(self, label: str) -> None:
        self.shortlabel = f"Stream: Topic: {label}"
        self.task_owner = Owner()

    def __str__(self) -> str:
        return self.shortlabel


class FakeMessage:
    time_in: float | None = None


def _faust_samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[Any, ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        for s in family.samples
        if s.name.startswith("faust_") and not s.name.endswith("_created")
    }


def _drive(monitor: PrometheusMonitor) -> None:
    streams = [FakeStream("drift-inference-events"), FakeStream("drift-control")]
    for i in range(7):
        tp = TP("drift-inference-events", i % 3)
        monitor.on_message_in(tp, 100 + i, FakeMessage())  # type: ignore[arg-type]
        monitor.on_stream_event_in(tp, 100 + i, streams[i % 2], object())  # type: ignore[arg-type]
        monitor.track_tp_end_offset(tp, 200 + i)


def test_cached_label_children_give_the_same_series_as_fausts_monitor() -> None:
    stock_registry, ours_registry = CollectorRegistry(), CollectorRegistry()
    stock = PrometheusMonitor(metrics=FaustMetrics.create(stock_registry, "faust"))
    lag = Gauge("drift_consumer_lag_records", "lag", ["topic", "partition"], registry=ours_registry)
    ours = LagMonitor(FaustMetrics.create(ours_registry, "faust"), lag)
    _drive(stock)
    _drive(ours)
    expected = _faust_samples(stock_registry)
    assert expected[("faust_messages_received_total", ())] == 7
    assert (
        expected[
            (
                "faust_messages_received_per_topics_partition",
                (("partition", "2"), ("topic", "drift-inference-events")),
            )
        ]
        == 105
    )
    assert (
        expected[
            (
                "faust_total_events_per_stream_total",
                (("stream", "stream.topic_drift-control.events"),),
            )
        ]
        == 3
    )
    assert (
        expected[
            (
                "faust_topic_partition_end_offset",
                (("partition", "0"), ("topic", "drift-inference-events")),
            )
        ]
        == 206
    )
    assert _faust_samples(ours_registry) == expected
    assert ours.messages_received_total == 7 and ours.events_total == 7  # faust's own counts


def test_lag_is_end_offset_minus_committed() -> None:
    registry = CollectorRegistry()
    lag = Gauge("drift_consumer_lag_records", "lag", ["topic", "partition"], registry=registry)
    monitor = LagMonitor(FaustMetrics.create(registry, "faust"), lag)
    tp = TP("drift-inference-events", 0)
    monitor.track_tp_end_offset(tp, 500)
    monitor.on_tp_commit({tp: 120})
    assert (
        registry.get_sample_value(
            "drift_consumer_lag_records", {"topic": tp.topic, "partition": "0"}
        )
        == 380
    )
