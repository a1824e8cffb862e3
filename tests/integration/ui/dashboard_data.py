"""Drift results, models and alerts as the sinks store them, over the last 24 h before ``now``:
two models with four streams each; ``fraud``'s feature1 and country drift in the last hour."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from tests.integration.api.api_support import insert, sql

STEP = timedelta(minutes=5)
WINDOWS = 288  # 24 h
STREAMS = {
    "input.feature1": "numeric",
    "input.country": "categorical",
    "prediction.class": "categorical",
    "confidence": "numeric",
}
NUMERIC_LABELS = [f"[{-2.5 + 0.5 * i:.1f}, {-2.0 + 0.5 * i:.1f})" for i in range(10)]
COUNTRIES = ["DE", "FR", "US", "GB", "other"]
# the country bins of a drifting window: DE gains 20 points, US loses 15, FR loses 5
BASE_COUNTRY = [0.30, 0.20, 0.25, 0.15, 0.10]
DRIFT_COUNTRY = [0.50, 0.15, 0.10, 0.15, 0.10]


def last_window_end(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % 5)


def _bins(kind: str, drifting: bool) -> dict[str, Any]:
    if kind == "categorical":
        return {
            "labels": COUNTRIES,
            "baseline": BASE_COUNTRY,
            "recent": DRIFT_COUNTRY if drifting else BASE_COUNTRY,
        }
    base = [math.exp(-((i - 4.5) ** 2) / 6) for i in range(10)]
    recent = [math.exp(-((i - (6.5 if drifting else 4.5)) ** 2) / 6) for i in range(10)]
    return {"labels": NUMERIC_LABELS, "baseline": base, "recent": recent}


def run(model: str, stream: str, end: datetime, i: int) -> dict[str, Any]:
    kind = STREAMS[stream]
    drifting = (
        model == "fraud" and stream in ("input.feature1", "input.country") and i >= WINDOWS - 12
    )
    insufficient = i < 12
    wiggle = 0.01 * (1 + math.sin(i / 7))
    return {
        "model_id": model,
        "stream": stream,
        "stream_kind": kind,
        "window_start": end - timedelta(hours=1),
        "window_end": end,
        "status": "insufficient_data" if insufficient else "drift" if drifting else "ok",
        "kl_divergence": None if insufficient else (0.32 if drifting else 0.01 + wiggle),
        "cosine_similarity": None if insufficient else (0.81 if drifting else 0.985 - wiggle),
        "psi": None if insufficient else (0.41 if drifting else 0.02 + wiggle),
        "js_distance": None if insufficient else (0.2 if drifting else 0.03),
        "ks_statistic": None if insufficient else (0.25 if drifting else 0.02),
        "recent_count": 60 if insufficient else 3600,
        "baseline_count": 400 if insufficient else 86400,
        "drifted_metrics": ["kl_divergence", "cosine_similarity", "psi"] if drifting else [],
        "bins": None if insufficient else Jsonb(_bins(kind, drifting)),
    }


def seed(dsn: str, now: datetime) -> datetime:
    """Store the rows; returns the last window end."""
    last = last_window_end(now)
    sql(
        dsn,
        "INSERT INTO models (model_id, display_name) VALUES ('fraud', 'fraud'), ('churn', NULL)",
    )
    sql(
        dsn,
        "UPDATE models SET thresholds = %s WHERE model_id = 'churn'",
        [Jsonb({"*": {"kl_divergence": 0.2}})],
    )
    rows = [
        run(model, stream, last - (WINDOWS - 1 - i) * STEP, i)
        for model in ("fraud", "churn")
        for stream in STREAMS
        for i in range(WINDOWS)
    ]
    insert(dsn, "drift_runs", rows)
    alert = {"metric": "drift", "severity": "warning", "value": 0.32, "threshold": 0.1}
    insert(
        dsn,
        "alerts",
        [
            {
                **alert,
                "model_id": "fraud",
                "stream": "input.feature1",
                "status": "open",
                "opened_at": last - timedelta(minutes=45),
                "resolved_at": None,
                "message": "kl_divergence 0.32 > 0.1",
            },
            {
                **alert,
                "model_id": "fraud",
                "stream": "input.country",
                "status": "open",
                "opened_at": last - timedelta(minutes=40),
                "resolved_at": None,
                "message": "kl_divergence 0.32 > 0.1",
            },
            {
                **alert,
                "model_id": "churn",
                "stream": "confidence",
                "status": "resolved",
                "opened_at": last - timedelta(hours=10),
                "resolved_at": last - timedelta(hours=9),
                "message": "psi 0.25 > 0.2",
            },
        ],
    )
    insert(dsn, "performance_windows", performance(last))
    return last


def performance(last: datetime) -> list[dict[str, Any]]:
    """24 hourly windows of ``fraud``: accuracy 0.90 (estimated 0.90) until the last 3 hours,
    where the realised figure falls to 0.72 while the estimate stays (a concept change) and
    the newest windows are still partly labelled."""
    end = last.replace(minute=0)
    rows = []
    for i in range(24):
        start = end - timedelta(hours=23 - i)
        fallen = i >= 21
        share = 1.0 if i < 22 else (0.6 if i == 22 else 0.25)
        rows.append(
            {
                "model_id": "fraud",
                "window_start": start,
                "window_end": start + timedelta(hours=1),
                "task": "classification",
                "inferences": 1_000,
                "labelled": int(1_000 * share),
                "too_late": 0,
                "labelled_share": share,
                "accuracy": 0.72 if fallen else 0.90 + 0.005 * math.sin(i),
                "log_loss": 0.6 if fallen else 0.3,
                "ece": 0.15 if fallen else 0.02,
                "estimated_accuracy": 0.90,
                "per_class": Jsonb({"yes": {"precision": 0.9, "recall": 0.9, "f1": 0.9}}),
                "confusion": Jsonb({"yes": {"yes": 450, "no": 50}, "no": {"no": 450, "yes": 50}}),
            }
        )
    return rows
