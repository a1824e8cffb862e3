"""Labels joined to their inferences in PostgreSQL, and performance per window (issue 15).

Why the database and not the stream: a label may come days after its inference, so a join in
the worker would hold every prediction of the label horizon in memory (7 days x 10^5/h = 1.7e7
rows per model); ``inference_logs`` already holds them, keyed by (model_id, event_id). A label
is upserted by that key (newest label time wins, so a replay or a duplicate changes nothing,
and a corrected label replaces the first); the windows (by inference event time) of the
inferences it names are marked dirty and recomputed from aggregates (``drift.performance``),
then upserted: idempotent, and complete as far as the labels in hand (``labelled_share``).
A label whose inference is not logged yet (the log sink lags) is looked for again by each run
until ``grace`` has passed; when inference logging is sampled, labels of unlogged inferences
never match and are counted as unmatched, and the metrics describe the logged sample.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

from drift.labels import LabelEvent
from drift.performance import (
    ConfidenceBins,
    calibration_table,
    classification,
    estimate,
    regression,
)
from sinks.performance_queries import (
    CLASSIFIED,
    JOINED,
    MARK,
    PENDING,
    REFERENCE,
    REGRESSED,
    UNMATCHED,
    UPSERT_LABELS,
    UPSERT_WINDOW,
    WINDOW,
)

log = logging.getLogger(__name__)
CLASS_LIMIT = 20  # numeric labels with more distinct values than this are a regression task


@dataclass(frozen=True, slots=True)
class PerformanceSettings:
    window_seconds: int = 3600
    horizon_seconds: float = 7 * 86_400.0  # DRIFT_LABEL_HORIZON_SECONDS
    reference_hours: int = 168  # the labelled period the estimate is calibrated on
    grace_seconds: float = 3600.0  # how long an unmatched label is looked for again


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def store_labels(
    conn: psycopg.Connection[Any],
    labels: Sequence[LabelEvent],
    settings: PerformanceSettings,
    received_at: float,
) -> None:
    """Upsert ``labels`` (their timestamps set) and mark the windows they touch, in the
    caller's transaction."""
    if not labels:
        return
    latest: dict[tuple[str, str], LabelEvent] = {}
    for lab in labels:  # one row per event in a statement: the newest label of the batch
        key = (lab.model_id, lab.event_id)
        held = latest.get(key)
        if held is None or (lab.timestamp or received_at) >= (held.timestamp or received_at):
            latest[key] = lab
    rows = list(latest.values())
    models = [lab.model_id for lab in rows]
    events = [lab.event_id for lab in rows]
    conn.execute(
        UPSERT_LABELS,
        (
            models,
            events,
            [orjson.dumps(lab.label).decode() for lab in rows],
            [_ts(lab.timestamp if lab.timestamp is not None else received_at) for lab in rows],
            [_ts(received_at)] * len(rows),
        ),
    )
    conn.execute(MARK, {"m": models, "e": events, "w": settings.window_seconds})


def retry_unmatched(conn: psycopg.Connection[Any], settings: PerformanceSettings) -> int:
    """Look again for the inferences of recent unmatched labels; returns the labels still
    unmatched after the grace period (to be counted: unknown events or sampled out)."""
    pending = conn.execute(PENDING, (settings.grace_seconds,)).fetchall()
    if pending:
        conn.execute(
            MARK,
            {
                "m": [m for m, _ in pending],
                "e": [e for _, e in pending],
                "w": settings.window_seconds,
            },
        )
    row = conn.execute(UNMATCHED, (settings.grace_seconds,)).fetchone()
    return int(row[0]) if row else 0


def compute_window(
    conn: psycopg.Connection[Any], model_id: str, start: float, settings: PerformanceSettings
) -> dict[str, Any]:
    """Recompute and upsert the performance of one window; returns the row written."""
    end = start + settings.window_seconds
    params = {
        "m": model_id,
        "start": _ts(start),
        "end": _ts(end),
        "horizon": settings.horizon_seconds,
        "ref_start": _ts(start - settings.reference_hours * 3600),
    }
    inferences = conn.execute(
        "SELECT count(*) FROM inference_logs WHERE model_id = %(m)s"
        " AND event_time >= %(start)s AND event_time < %(end)s",
        params,
    ).fetchone()[0]  # type: ignore[index]
    for statement in JOINED.split(";\n"):
        conn.execute(statement, params)
    late, numeric, distinct = conn.execute(
        "SELECT count(*) FILTER (WHERE late), coalesce(bool_and(numeric), false),"
        " count(DISTINCT truth) FILTER (WHERE NOT late) FROM perf_joined"
    ).fetchone()  # type: ignore[misc]
    row: dict[str, Any] = {
        "model_id": model_id,
        "window_start": _ts(start),
        "window_end": _ts(end),
        "inferences": inferences,
        "too_late": late,
        **dict.fromkeys(
            ("accuracy", "log_loss", "ece", "mae", "rmse", "bias", "per_class", "confusion"),
            None,
        ),
        "estimated_accuracy": None,
        "estimated_confusion": None,
    }
    if numeric and distinct > CLASS_LIMIT:
        n, abs_sum, sq_sum, err_sum = conn.execute(REGRESSED).fetchone()  # type: ignore[misc]
        reg = regression(n, abs_sum or 0.0, sq_sum or 0.0, err_sum or 0.0)
        row.update(task="regression", labelled=n, mae=reg.mae, rmse=reg.rmse, bias=reg.bias)
    else:
        _classified(conn, row, params)
    row["labelled_share"] = row["labelled"] / inferences if inferences else 0.0
    for key in ("mae", "rmse", "bias", "accuracy"):
        if row[key] is not None and row[key] != row[key]:  # NaN: nothing labelled
            row[key] = None
    conn.execute(UPSERT_WINDOW, row)
    return row


def _classified(conn: psycopg.Connection[Any], row: dict[str, Any], params: dict[str, Any]) -> None:
    confusion: dict[tuple[str, str], int] = defaultdict(int)
    bins = ConfidenceBins()
    loss = 0.0
    for truth, pred, b, n, conf_sum, loss_sum in conn.execute(CLASSIFIED):
        confusion[(truth, pred)] += n
        if b is not None:
            bins.add(int(b), n, conf_sum, n if truth == pred else 0)
            loss += loss_sum or 0.0
    result = classification(confusion, bins if sum(bins.n) else None, loss)
    row.update(
        task="classification",
        labelled=result.labelled,
        accuracy=result.accuracy if result.labelled else None,
        log_loss=result.log_loss,
        ece=result.ece,
        per_class=Jsonb(
            {
                c: {"precision": m.precision, "recall": m.recall, "f1": m.f1, "support": m.support}
                for c, m in result.per_class.items()
            }
        ),
        confusion=Jsonb(result.confusion),
    )
    reference = {
        (cls, int(b)): (n, conf_sum, right)
        for cls, b, n, conf_sum, right in conn.execute(REFERENCE, params)
    }
    window = {(cls, int(b)): (n, conf_sum) for cls, b, n, conf_sum in conn.execute(WINDOW, params)}
    if reference and window:
        classes = {cls for cls, _ in window} | {cls for cls, _ in reference}
        positive = max(classes) if len(classes) == 2 else None
        est = estimate(window, calibration_table(reference), positive)
        row["estimated_accuracy"] = est.accuracy
        row["estimated_confusion"] = Jsonb(est.confusion) if est.confusion else None


def compute_dirty(conn: psycopg.Connection[Any], settings: PerformanceSettings) -> int:
    """Recompute every dirty window (one transaction each); returns how many."""
    done = 0
    while True:
        with conn.transaction():
            picked = conn.execute(
                "DELETE FROM performance_dirty WHERE ctid IN (SELECT ctid FROM performance_dirty"
                " LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING model_id, window_start"
            ).fetchone()
            if picked is None:
                return done
            compute_window(conn, picked[0], picked[1].timestamp(), settings)
            done += 1
