"""The worker's Prometheus metrics (names in docs/architecture.md), on a registry passed in.

``setup_sensors`` also installs faust's own metrics (prefix ``faust_``) on the same registry,
with ``faust_events_runtime_ms`` replaced by ``faust_events_runtime_seconds`` (base units, so
``promtool check metrics`` passes), and derives ``drift_consumer_lag_records`` from the offsets
faust's monitor sees: end offset (high watermark) minus committed offset, per topic partition.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any
from weakref import WeakKeyDictionary

import faust
from faust import web
from faust.sensors.monitor import Monitor
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.types import TP, EventT, Message, StreamT
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from drift import StreamEvaluation
from stream_app.evaluation import ModelReport
from stream_app.processor import Output

GAUGES = {
    "kl_divergence": "drift_kl_divergence",
    "cosine_similarity": "drift_cosine_similarity",
    "psi": "drift_psi",
    "js_distance": "drift_js_distance",
    "hellinger": "drift_hellinger_distance",
    "wasserstein": "drift_wasserstein_normed",
    "ks_statistic": "drift_ks_statistic",
    "chi2_pvalue": "drift_chi2_pvalue",
}


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry, max_series_models: int = 1000) -> None:
        labels = ["model_id", "stream"]
        self.stats = {
            k: Gauge(n, f"{k} of recent vs baseline", labels, registry=registry)
            for k, n in GAUGES.items()
        }
        self.detected = Gauge(
            "drift_detected", "1 drift, 0 ok (absent: insufficient data)", labels, registry=registry
        )
        self.p_value = Gauge(
            "drift_p_value",
            "calibrated p-value of the deciding test (absent: fixed rule or insufficient data)",
            labels,
            registry=registry,
        )
        self.score = Gauge(
            "drift_score",
            "verdict score: -log10 p (fixed rule: largest value/limit); drift when >= limit",
            labels,
            registry=registry,
        )
        self.score_limit = Gauge(
            "drift_score_limit",
            "limit of drift_score: -log10 of the Benjamini-Hochberg cut-off (fixed rule: 1)",
            labels,
            registry=registry,
        )
        self.baseline_frozen = Gauge(
            "drift_baseline_frozen",
            "1 while the stream is judged against a baseline frozen when its alert opened",
            labels,
            registry=registry,
        )
        self.drifted_share = Gauge(
            "drift_model_drifted_share",
            "share of drifted input streams",
            ["model_id"],
            registry=registry,
        )
        self.prediction_drift = Gauge(
            "drift_model_prediction_drift",
            "1 when a prediction stream drifts",
            ["model_id"],
            registry=registry,
        )
        self.window_events = Gauge(
            "drift_window_events",
            "samples in the window",
            ["model_id", "window"],
            registry=registry,
        )
        self.events = Counter(
            "drift_events", "valid inferences counted", ["model_id"], registry=registry
        )
        self.rejected = Counter(
            "drift_events_rejected", "events sent to the DLQ", ["reason"], registry=registry
        )
        self.duplicates = Counter(
            "drift_duplicate_events",
            "events whose event id was counted already (retries, replays), not counted again",
            ["model_id"],
            registry=registry,
        )
        self.model_slots = Gauge(
            "drift_model_slots",
            "model state slots of this worker: used, and total (max_models)",
            ["state"],
            registry=registry,
        )
        self.model_slots.labels("total").set(max_series_models)
        self.model_slots.labels("used").set(0)
        self.late = Counter(
            "drift_late_events",
            "events too late for any window, dropped",
            ["model_id"],
            registry=registry,
        )
        self.eval_seconds = Histogram(
            "drift_evaluation_duration_seconds",
            "time to evaluate one model window",
            registry=registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )
        self.last_eval = Gauge(
            "drift_last_evaluation_timestamp_seconds",
            "wall-clock time of the last evaluation",
            ["model_id"],
            registry=registry,
        )
        self.alerts_open = Gauge(
            "drift_alerts_open", "open drift alerts", ["model_id"], registry=registry
        )
        self.consumer_lag = Gauge(
            "drift_consumer_lag_records",
            "records behind the end",
            ["topic", "partition"],
            registry=registry,
        )
        self.sink_lag = Gauge(
            "drift_sink_lag_records",
            "records the PostgreSQL sinks have yet to store",
            ["sink"],
            registry=registry,
        )
        self._models: set[str] = set()
        self._detected: set[tuple[str, str]] = set()
        self._held: dict[Gauge, set[tuple[str, str]]] = {
            self.p_value: set(),
            self.score: set(),
            self.score_limit: set(),
        }
        self._cap = max_series_models

    def _admit(self, model_id: str) -> bool:
        """Bound the series count: only the first ``max_series_models`` models get series."""
        if model_id in self._models or len(self._models) < self._cap:
            self._models.add(model_id)
            return True
        return False

    def slots(self, used: int) -> None:
        self.model_slots.labels("used").set(used)

    def forget(self, model_id: str) -> None:
        """Remove an evicted model's series, freeing its place under the series cap."""
        if model_id not in self._models:
            return
        self._models.discard(model_id)
        for gauge in (
            self.drifted_share,
            self.prediction_drift,
            self.last_eval,
            self.alerts_open,
            self.events,
            self.late,
            self.duplicates,
        ):
            with contextlib.suppress(KeyError):
                gauge.remove(model_id)
        for window in ("recent", "baseline"):
            with contextlib.suppress(KeyError):
                self.window_events.remove(model_id, window)
        for stat in self.stats.values():
            for family in stat.collect():
                for sample in family.samples:
                    if sample.labels.get("model_id") == model_id:
                        with contextlib.suppress(KeyError):
                            stat.remove(model_id, sample.labels["stream"])
        for key in [k for k in self._detected if k[0] == model_id]:
            self.detected.remove(*key)
            self._detected.discard(key)
        for gauge, held in self._held.items():
            for key in [k for k in held if k[0] == model_id]:
                with contextlib.suppress(KeyError):
                    gauge.remove(*key)
                held.discard(key)
        for family in self.baseline_frozen.collect():
            for sample in family.samples:
                if sample.labels.get("model_id") == model_id:
                    with contextlib.suppress(KeyError):
                        self.baseline_frozen.remove(model_id, sample.labels["stream"])

    def observe(self, out: Output, open_alerts: dict[str, int], elapsed: float) -> None:
        for model_id in out.evicted:
            self.forget(model_id)
        for rej in out.rejected:  # events per reason (a record refused whole counts once)
            for reason, n in (rej.counts or {rej.reason: 1}).items():
                self.rejected.labels(reason).inc(n)
        for model_id, n in out.counted.items():
            if self._admit(model_id):
                self.events.labels(model_id).inc(n)
        for model_id, n in out.late.items():
            if self._admit(model_id):
                self.late.labels(model_id).inc(n)
        for model_id, n in out.duplicates.items():
            if self._admit(model_id):
                self.duplicates.labels(model_id).inc(n)
        for report in out.reports:
            self._report(report, open_alerts.get(report.model_id, 0))
        if out.reports:
            per = elapsed / len(out.reports)
            for _ in out.reports:
                self.eval_seconds.observe(per)

    def _set_or_remove(self, gauge: Gauge, key: tuple[str, str], value: float | None) -> None:
        """Set the series, or remove it while there is no value (like ``drift_detected``)."""
        held = self._held[gauge]
        if value is not None:
            gauge.labels(*key).set(value)
            held.add(key)
        elif key in held:
            gauge.remove(*key)
            held.discard(key)

    def _verdict(self, key: tuple[str, str], ev: StreamEvaluation, mode: str) -> None:
        judged = ev.status != "insufficient_data"
        self._set_or_remove(self.p_value, key, ev.p_value if judged else None)
        self._set_or_remove(self.score, key, ev.score if judged else None)
        self._set_or_remove(self.score_limit, key, ev.limit if judged else None)
        self.baseline_frozen.labels(*key).set(1 if mode == "frozen" else 0)

    def _report(self, report: ModelReport, open_alerts: int) -> None:
        model = report.model_id
        if not self._admit(model):
            return
        for ev, result in zip(report.evaluations, report.results, strict=True):
            self._verdict((model, ev.stream), ev, result["baseline_mode"])
            for metric, value in ev.metrics.items():
                if metric in self.stats:
                    self.stats[metric].labels(model, ev.stream).set(value)
            key = (model, ev.stream)
            if ev.status == "insufficient_data":
                if key in self._detected:
                    self.detected.remove(*key)
                    self._detected.discard(key)
            else:
                self.detected.labels(*key).set(1 if ev.status == "drift" else 0)
                self._detected.add(key)
        recent = max((e.recent_count for e in report.evaluations), default=0)
        baseline = max((e.baseline_count for e in report.evaluations), default=0)
        self.window_events.labels(model, "recent").set(recent)
        self.window_events.labels(model, "baseline").set(baseline)
        self.drifted_share.labels(model).set(report.verdict.drifted_input_share)
        self.prediction_drift.labels(model).set(1 if report.verdict.prediction_drift else 0)
        self.last_eval.labels(model).set(time.time())
        self.alerts_open.labels(model).set(open_alerts)


class _RuntimeHistogram(Histogram):
    """Takes faust's event runtimes in milliseconds, records them in seconds."""

    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        super().observe(amount / 1000.0, exemplar)


class LagMonitor(PrometheusMonitor):
    """faust's Prometheus monitor that also sets ``drift_consumer_lag_records``.

    Its per-message hooks set the same series as faust's, but keep the labelled children
    instead of looking them up (and normalising the stream label with a regex) per message:
    with one inference per record those lookups were a tenth of the worker's time."""

    def __init__(self, metrics: FaustMetrics, lag: Gauge, **kwargs: Any) -> None:
        super().__init__(metrics=metrics, **kwargs)
        self._lag = lag
        self._end: dict[TP, int] = {}
        self._committed: dict[TP, int] = {}
        self._tp_series: dict[TP, tuple[Any, Any]] = {}
        self._end_series: dict[TP, Any] = {}
        self._stream_series: WeakKeyDictionary[StreamT, Any] = WeakKeyDictionary()

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        Monitor.on_message_in(self, tp, offset, message)
        m = self._metrics
        m.messages_received.inc()
        m.active_messages.inc()
        series = self._tp_series.get(tp)
        if series is None:
            series = self._tp_series[tp] = (
                m.messages_received_per_topics.labels(topic=tp.topic),
                m.messages_received_per_topics_partition.labels(
                    topic=tp.topic, partition=tp.partition
                ),
            )
        series[0].inc()
        series[1].set(offset)

    def on_stream_event_in(
        self, tp: TP, offset: int, stream: StreamT, event: EventT
    ) -> dict[str, Any] | None:
        state = Monitor.on_stream_event_in(self, tp, offset, stream, event)
        m = self._metrics
        m.total_events.inc()
        m.total_active_events.inc()
        child = self._stream_series.get(stream)
        if child is None:
            label = f"stream.{self._stream_label(stream)}.events"
            child = self._stream_series[stream] = m.total_events_per_stream.labels(stream=label)
        child.inc()
        return state

    def _update(self, tp: TP) -> None:
        if tp in self._end and tp in self._committed:
            lag = max(self._end[tp] - self._committed[tp], 0)
            self._lag.labels(tp.topic, str(tp.partition)).set(lag)

    def track_tp_end_offset(self, tp: TP, offset: int) -> None:
        # called for every message: set faust's series, remember the offset; the lag gauge
        # moves on commits (about once a second)
        Monitor.track_tp_end_offset(self, tp, offset)
        child = self._end_series.get(tp)
        if child is None:
            child = self._end_series[tp] = self._metrics.topic_partition_end_offset.labels(
                topic=tp.topic, partition=tp.partition
            )
        child.set(offset)
        self._end[tp] = offset

    def on_tp_commit(self, tp_offsets: Any) -> None:
        super().on_tp_commit(tp_offsets)
        for tp, offset in tp_offsets.items():
            self._committed[tp] = offset  # Kafka convention: the next offset to read
            self._update(tp)


def _faust_metrics(registry: CollectorRegistry) -> FaustMetrics:
    """faust's metric group on ``registry``, its one millisecond histogram in seconds."""
    built = FaustMetrics.create(CollectorRegistry(), "faust")  # scratch: picked over below
    runtime = _RuntimeHistogram(
        "faust_events_runtime_seconds",
        "Events runtime in seconds",
        buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10),
        registry=registry,
    )
    for collector in built:
        if collector is not built.events_runtime_latency:
            registry.register(collector)
    return built._replace(events_runtime_latency=runtime)


def setup_sensors(
    app: faust.App, registry: CollectorRegistry, metrics: WorkerMetrics, path: str = "/metrics"
) -> None:
    """faust's sensors plus the consumer lag on ``registry``, served at ``path``."""
    app.monitor = LagMonitor(_faust_metrics(registry), metrics.consumer_lag)

    @app.page(path)
    async def metrics_page(self: web.View, request: web.Request) -> web.Response:
        headers = {"Content-Type": CONTENT_TYPE_LATEST}
        return self.bytes(generate_latest(registry), headers=headers)
