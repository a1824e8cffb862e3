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

log = logging.getLogger(__name__)
CLASS_LIMIT = 20  # numeric labels with more distinct values than this are a regression task

UPSERT_LABELS = """
INSERT INTO labels (model_id, event_id, label, label_time, received_at)
SELECT * FROM unnest(%s::text[], %s::text[], %s::jsonb[], %s::timestamptz[], %s::timestamptz[])
ON CONFLICT (model_id, event_id) DO UPDATE
    SET label = excluded.label, label_time = excluded.label_time,
        received_at = excluded.received_at
    WHERE excluded.label_time >= labels.label_time
"""

# the windows of the inferences these labels name; the labels found are marked matched
MARK = """
WITH named AS (
    SELECT DISTINCT model_id, event_id
    FROM unnest(%(m)s::text[], %(e)s::text[]) AS c(model_id, event_id)
), hit AS (
    SELECT i.model_id, i.event_id, i.event_time
    FROM named n JOIN inference_logs i ON i.model_id = n.model_id AND i.event_id = n.event_id
), flagged AS (
    UPDATE labels l SET matched = true FROM hit
    WHERE l.model_id = hit.model_id AND l.event_id = hit.event_id AND NOT l.matched
)
INSERT INTO performance_dirty (model_id, window_start)
SELECT DISTINCT model_id,
       to_timestamp(floor(extract(epoch FROM event_time) / %(w)s) * %(w)s)
FROM hit
ON CONFLICT DO NOTHING
"""

PENDING = """
SELECT model_id, event_id FROM labels
WHERE NOT matched AND received_at > now() - make_interval(secs => %s)
"""

UNMATCHED = """
SELECT count(*) FROM labels WHERE NOT matched AND received_at <= now() - make_interval(secs => %s)
"""

# a prediction object names its class ({"class", "score"}), label or value
_PRED = """(CASE WHEN jsonb_typeof({c}) = 'object'
    THEN coalesce({c} -> 'class', {c} -> 'label', {c} -> 'value') ELSE {c} END)"""

_NORM = """CASE WHEN jsonb_typeof({c}) = 'number'
    THEN trim_scale(({c} #>> '{{}}')::numeric)::text ELSE {c} #>> '{{}}' END"""

_TRUTH = _NORM.format(c="l.label")
_PREDICTED = _NORM.format(c=_PRED.format(c="i.prediction"))
_PRED_I = _PRED.format(c="i.prediction")

JOINED = f"""
CREATE TEMP TABLE IF NOT EXISTS perf_joined (
    truth text, pred text, numeric boolean, t double precision, p double precision,
    confidence double precision, late boolean
) ON COMMIT DROP;
TRUNCATE perf_joined;
INSERT INTO perf_joined
SELECT {_TRUTH}, {_PREDICTED},
       jsonb_typeof(l.label) = 'number' AND jsonb_typeof({_PRED_I}) = 'number',
       CASE WHEN jsonb_typeof(l.label) = 'number' THEN (l.label #>> '{{}}')::double precision END,
       CASE WHEN jsonb_typeof({_PRED_I}) = 'number'
            THEN ({_PRED_I} #>> '{{}}')::double precision END,
       i.confidence,
       l.label_time - i.event_time > make_interval(secs => %(horizon)s)
FROM inference_logs i JOIN labels l ON l.model_id = i.model_id AND l.event_id = i.event_id
WHERE i.model_id = %(m)s AND i.event_time >= %(start)s AND i.event_time < %(end)s
"""

_BIN = "least(width_bucket(confidence, 0, 1, 10), 10) - 1"

CLASSIFIED = f"""
SELECT truth, pred, {_BIN} AS b, count(*), coalesce(sum(confidence), 0),
       sum(CASE WHEN confidence IS NULL THEN 0
                WHEN truth = pred THEN -ln(greatest(confidence, 1e-15))
                ELSE -ln(greatest(1 - confidence, 1e-15)) END)
FROM perf_joined WHERE NOT late GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""

REGRESSED = """
SELECT count(*), sum(abs(p - t)), sum((p - t) ^ 2), sum(p - t)
FROM perf_joined WHERE NOT late AND numeric
"""

# (groups in a fixed order: the float sums over them are then the same on every recomputation,
# so a replay changes no figure in its last bit)
# the label-free estimate: accuracy per (predicted class, bin) on the labelled reference …
REFERENCE = f"""
SELECT {_PREDICTED}, {_BIN.replace("confidence", "i.confidence")},
       count(*), sum(i.confidence), sum(({_TRUTH} = {_PREDICTED})::int)
FROM inference_logs i JOIN labels l ON l.model_id = i.model_id AND l.event_id = i.event_id
WHERE i.model_id = %(m)s AND i.event_time >= %(ref_start)s AND i.event_time < %(start)s
  AND i.confidence IS NOT NULL
  AND l.label_time - i.event_time <= make_interval(secs => %(horizon)s)
GROUP BY 1, 2 ORDER BY 1, 2
"""

# … and the window's own inferences, labelled or not
WINDOW = f"""
SELECT {_NORM.format(c=_PRED.format(c="prediction"))}, {_BIN}, count(*), sum(confidence)
FROM inference_logs
WHERE model_id = %(m)s AND event_time >= %(start)s AND event_time < %(end)s
  AND confidence IS NOT NULL
GROUP BY 1, 2 ORDER BY 1, 2
"""

UPSERT_WINDOW = """
INSERT INTO performance_windows (model_id, window_start, window_end, task, inferences, labelled,
    too_late, labelled_share, accuracy, log_loss, ece, mae, rmse, bias, per_class, confusion,
    estimated_accuracy, estimated_confusion, computed_at)
VALUES (%(model_id)s, %(window_start)s, %(window_end)s, %(task)s, %(inferences)s, %(labelled)s,
    %(too_late)s, %(labelled_share)s, %(accuracy)s, %(log_loss)s, %(ece)s, %(mae)s, %(rmse)s,
    %(bias)s, %(per_class)s, %(confusion)s, %(estimated_accuracy)s, %(estimated_confusion)s,
    now())
ON CONFLICT (model_id, window_start) DO UPDATE SET
    window_end = excluded.window_end, task = excluded.task, inferences = excluded.inferences,
    labelled = excluded.labelled, too_late = excluded.too_late,
    labelled_share = excluded.labelled_share, accuracy = excluded.accuracy,
    log_loss = excluded.log_loss, ece = excluded.ece, mae = excluded.mae, rmse = excluded.rmse,
    bias = excluded.bias, per_class = excluded.per_class, confusion = excluded.confusion,
    estimated_accuracy = excluded.estimated_accuracy,
    estimated_confusion = excluded.estimated_confusion, computed_at = now()
"""


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
