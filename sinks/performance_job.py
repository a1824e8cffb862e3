"""The performance job of the sinks process: every ``DRIFT_PERFORMANCE_INTERVAL_SECONDS`` it
looks again for the inferences of unmatched labels, recomputes the dirty windows
(``performance_store``), then judges each model and exports the figures.

Judged window of a model: its newest classification window holding at least
``performance_min_labelled`` labels in time (labels come late, so the newest windows are
often unlabelled); its realised accuracy is compared by ``drift.performance.performance_verdict``
with the ``performance_baseline_windows`` windows before it (calibrated like the drift
verdicts, at ``DRIFT_FDR``). The label-free estimate is that of the model's newest window.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry, Gauge

from drift.performance import PerformanceVerdict, performance_verdict
from sinks.performance_store import PerformanceSettings, compute_dirty, retry_unmatched

log = logging.getLogger(__name__)

# per model: the judged window and the (labelled, accuracy) of the windows before it
JUDGED = """
WITH judged AS (
    SELECT DISTINCT ON (model_id) model_id, window_start, labelled, accuracy, labelled_share
    FROM performance_windows
    WHERE task = 'classification' AND labelled >= %(min)s AND accuracy IS NOT NULL
    ORDER BY model_id, window_start DESC
)
SELECT j.model_id, extract(epoch FROM j.window_start)::double precision, j.labelled,
       j.accuracy, j.labelled_share,
       coalesce(array_agg(b.labelled ORDER BY b.window_start)
                FILTER (WHERE b.model_id IS NOT NULL), '{}'),
       coalesce(array_agg(b.accuracy ORDER BY b.window_start)
                FILTER (WHERE b.model_id IS NOT NULL), '{}')
FROM judged j
LEFT JOIN performance_windows b
    ON b.model_id = j.model_id AND b.task = 'classification' AND b.labelled > 0
   AND b.accuracy IS NOT NULL AND b.window_start < j.window_start
   AND b.window_start >= j.window_start - make_interval(secs => %(span)s)
GROUP BY 1, 2, 3, 4, 5
"""

ESTIMATED = """
SELECT DISTINCT ON (model_id) model_id, estimated_accuracy
FROM performance_windows WHERE estimated_accuracy IS NOT NULL
ORDER BY model_id, window_start DESC
"""


@dataclass(frozen=True, slots=True)
class JudgeSettings:
    baseline_windows: int = 24
    min_labelled: int = 100
    min_drop: float = 0.02
    fdr: float = 0.001


@dataclass(frozen=True, slots=True)
class ModelPerformance:
    model_id: str
    window_start: float
    labelled_share: float
    verdict: PerformanceVerdict


def _right(labelled: int, accuracy: float) -> int:
    return round(labelled * accuracy)  # accuracy = right / labelled exactly


def judge(
    conn: psycopg.Connection[Any], perf: PerformanceSettings, settings: JudgeSettings
) -> list[ModelPerformance]:
    """The verdict of every model's judged window."""
    span = settings.baseline_windows * perf.window_seconds
    out = []
    for model, start, n, acc, share, base_n, base_acc in conn.execute(
        JUDGED, {"min": settings.min_labelled, "span": span}
    ):
        baseline = [(bn, _right(bn, ba)) for bn, ba in zip(base_n, base_acc, strict=True)]
        verdict = performance_verdict(
            (n, _right(n, acc)),
            baseline,
            fdr=settings.fdr,
            min_drop=settings.min_drop,
            min_labelled=settings.min_labelled,
        )
        out.append(ModelPerformance(model, start, share, verdict))
    return out


class PerformanceMetrics:
    """The per-model performance gauges (docs/architecture.md, "Prometheus metrics")."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def gauge(name: str, text: str) -> Gauge:
            return Gauge(name, text, ["model_id"], registry=registry)

        self.accuracy = gauge(
            "drift_performance_accuracy", "realised accuracy of the judged window"
        )
        self.baseline_accuracy = gauge(
            "drift_performance_baseline_accuracy", "accuracy of the windows before it"
        )
        self.estimated = gauge(
            "drift_performance_estimated_accuracy", "label-free estimate of the newest window"
        )
        self.labelled_share = gauge(
            "drift_performance_labelled_share", "labelled share of the judged window"
        )
        self.window_start = gauge(
            "drift_performance_window_start_timestamp_seconds", "start of the judged window"
        )
        self.degraded = gauge(
            "drift_performance_degraded",
            "1 when the judged window's accuracy fell (calibrated verdict), 0 ok; "
            "absent: insufficient data",
        )
        self.p_value = gauge(
            "drift_performance_p_value", "one-sided p-value that the accuracy fell"
        )
        self.unmatched = Gauge(
            "drift_labels_unmatched",
            "labels whose inference was not found within the grace period",
            registry=registry,
        )

    def observe(
        self, models: Sequence[ModelPerformance], estimates: dict[str, float], unmatched: int
    ) -> None:
        self.unmatched.set(unmatched)
        for model, value in estimates.items():
            self.estimated.labels(model).set(value)
        for m in models:
            v = m.verdict
            self.window_start.labels(m.model_id).set(m.window_start)
            self.labelled_share.labels(m.model_id).set(m.labelled_share)
            if v.accuracy is not None:
                self.accuracy.labels(m.model_id).set(v.accuracy)
            self._set(self.baseline_accuracy, m.model_id, v.baseline_accuracy)
            judged = v.status != "insufficient_data"
            self._set(self.degraded, m.model_id, float(v.status == "degraded") if judged else None)
            self._set(self.p_value, m.model_id, v.p_value)

    @staticmethod
    def _set(gauge: Gauge, model: str, value: float | None) -> None:
        if value is not None:
            gauge.labels(model).set(value)
        else:
            with contextlib.suppress(KeyError):
                gauge.remove(model)


class PerformanceJob(threading.Thread):
    """retry_unmatched, compute_dirty, judge, export: every ``interval`` seconds."""

    def __init__(
        self,
        dsn: str,
        perf: PerformanceSettings,
        settings: JudgeSettings,
        metrics: PerformanceMetrics,
        interval: float,
    ) -> None:
        super().__init__(name="performance-job", daemon=True)
        self.dsn, self.perf, self.settings = dsn, perf, settings
        self.metrics, self.interval = metrics, interval
        self.stopping = threading.Event()
        self.runs = 0
        self.computed = 0  # windows recomputed so far
        self.failures = 0

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        while not self.stopping.wait(self.interval):
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.dsn, connect_timeout=5, autocommit=True)
                self.run_once(conn)
            except Exception:
                self.failures += 1
                log.exception("performance job failed; trying again in %.0f s", self.interval)
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def run_once(self, conn: psycopg.Connection[Any]) -> int:
        """One pass; returns the windows recomputed."""
        with conn.transaction():
            unmatched = retry_unmatched(conn, self.perf)
        done = compute_dirty(conn, self.perf)
        with conn.transaction():
            models = judge(conn, self.perf, self.settings)
            estimates = dict(conn.execute(ESTIMATED).fetchall())
        self.metrics.observe(models, estimates, unmatched)
        self.runs += 1
        self.computed += done
        return done
