"""The worker's Prometheus metrics (names in docs/architecture.md), on a registry passed in,
and the small HTTP server that serves them at ``/metrics``. The loop sets
``drift_consumer_lag_records``: high watermark minus committed offset per partition it owns."""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
from stream_app.quality_metrics import QualityGauges

GAUGES = {
    "kl_divergence": "drift_kl_divergence",
    "cosine_similarity": "drift_cosine_similarity",
    "psi": "drift_psi",
    "js_distance": "drift_js_distance",
    "hellinger": "drift_hellinger_distance",
    "wasserstein": "drift_wasserstein_normed",
    "ks_statistic": "drift_ks_statistic",
    "chi2_pvalue": "drift_chi2_pvalue",
    # vector streams (embedding.<name>, multivariate)
    "cosine_distance": "drift_cosine_distance",
    "sliced_wasserstein": "drift_sliced_wasserstein",
    "drifted_projections": "drift_drifted_projections",
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
        self.quality = QualityGauges(registry)

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
        self.quality.forget(model_id)
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
            self.quality.observe(model, ev.stream, result.get("quality"))
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


class _MetricsHandler(BaseHTTPRequestHandler):
    registry: CollectorRegistry

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/metrics":
            self.send_error(404)
            return
        body = generate_latest(self.registry)
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE_LATEST)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not news
        pass


def serve(registry: CollectorRegistry, host: str, port: int) -> ThreadingHTTPServer:
    """Serve ``registry`` at ``http://host:port/metrics`` (every other path: 404) on a daemon
    thread; ``shutdown()`` stops it."""
    handler = type("MetricsHandler", (_MetricsHandler,), {"registry": registry})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
