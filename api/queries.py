"""Every SQL statement of the API. Values are always bound parameters; the only composed parts
are fixed fragments and column names taken from an allowlist (``RUN_METRICS``), quoted as
identifiers.

Paging is keyset paging on ``(time, id)`` descending, served by the matching indexes
(drift_runs_model_time_idx, drift_runs_time_idx, alerts_time_idx, alert_notifications_time_idx).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString

from psycopg import AsyncConnection, sql
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from api.core.db import Pool
from api.schemas.drift import METRICS, RUN_METRICS

Row = dict[str, Any]
Conn = AsyncConnection[DictRow]
RUN_COLUMNS = (
    "id, model_id, stream, stream_kind, window_start, window_end, baseline_start, baseline_end, "
    "baseline_mode, status, kl_divergence, cosine_similarity, psi, js_distance, hellinger, "
    "wasserstein, ks_statistic, chi2_pvalue, recent_count, baseline_count, drifted_metrics, "
    'computed_at, rule, p_value, q_value, score, score_limit AS "limit", limits, test, effect, '
    "null_center, null_spread, subwindows, new_categories, quality, cosine_distance, "
    "sliced_wasserstein, drifted_projections, mean_shift, correlation_shift"
)
ALERT_COLUMNS = (
    "id, model_id, stream, metric, severity, status, value, threshold, message, opened_at, "
    "resolved_at, updated_at"
)
NOTIFICATION_COLUMNS = (
    "id, received_at, receiver, status, alertname, fingerprint, model_id, stream, severity, "
    "labels, annotations, starts_at, ends_at"
)
MODEL_COLUMNS = (
    "model_id, display_name, thresholds, baseline_mode, unpinned_mode, first_seen_at, "
    "last_seen_at, updated_at"
)
ACCEPTED_COLUMNS = "id, model_id, streams, accepted_by, accepted_at"
# Above this many rows a count is replaced by the planner's estimate (keeps /stats cheap).
EXACT_COUNT_CAP = 100_000


@dataclass(frozen=True)
class Window:
    """Filters shared by the paged lists: equality filters, a time range and a keyset cursor."""

    equals: dict[str, str | None]
    since: datetime | None = None
    until: datetime | None = None
    after: tuple[datetime, int] | None = None
    limit: int = 100


async def _fetch(
    pool: Pool, query: sql.Composed | sql.SQL | LiteralString, params: Any = None
) -> list[Row]:
    async def work(conn: Conn) -> list[Row]:
        cur = await conn.execute(query, params)
        return await cur.fetchall()

    return await pool.run(work)


def _where(w: Window, time_col: LiteralString) -> tuple[sql.Composable, dict[str, Any]]:
    """``WHERE …`` for ``w`` (equality filters on the named columns, range, cursor)."""
    parts: list[sql.Composable] = []
    params: dict[str, Any] = {"limit": w.limit + 1}
    for col, value in w.equals.items():
        if value is not None:
            parts.append(sql.SQL("{} = {}").format(sql.Identifier(col), sql.Placeholder(col)))
            params[col] = value
    tc = sql.Identifier(time_col)
    if w.since is not None:
        parts.append(sql.SQL("{} >= %(since)s").format(tc))
        params["since"] = w.since
    if w.until is not None:
        parts.append(sql.SQL("{} < %(until)s").format(tc))
        params["until"] = w.until
    if w.after is not None:
        parts.append(sql.SQL("({}, id) < (%(c_at)s, %(c_id)s)").format(tc))
        params["c_at"], params["c_id"] = w.after
    if not parts:
        return sql.SQL(""), params
    return sql.SQL("WHERE ") + sql.SQL(" AND ").join(parts), params


async def _paged(
    pool: Pool, columns: LiteralString, table: LiteralString, time_col: LiteralString, w: Window
) -> list[Row]:
    where, params = _where(w, time_col)
    query = sql.SQL("SELECT {} FROM {} {} ORDER BY {} DESC, id DESC LIMIT %(limit)s").format(
        sql.SQL(columns), sql.Identifier(table), where, sql.Identifier(time_col)
    )
    return await _fetch(pool, query, params)


# drift_runs_hourly (sql/006) as drift_runs rows: the per-run detail it does not keep is NULL
HOURLY_COLUMNS = (
    "id, model_id, stream, stream_kind, window_start, window_end, baseline_start, baseline_end, "
    "baseline_mode, status, kl_divergence, cosine_similarity, psi, js_distance, hellinger, "
    "wasserstein, ks_statistic, chi2_pvalue, recent_count, baseline_count, drifted_metrics, "
    'rolled_up_at AS computed_at, rule, p_value, q_value, score, score_limit AS "limit", '
    "NULL::jsonb AS limits, NULL::text AS test, effect, NULL::float8 AS null_center, "
    "NULL::float8 AS null_spread, NULL::integer AS subwindows, NULL::jsonb AS new_categories, "
    "NULL::jsonb AS quality, NULL::float8 AS cosine_distance, NULL::float8 AS sliced_wasserstein, "
    "NULL::float8 AS drifted_projections, NULL::float8 AS mean_shift, "
    "NULL::float8 AS correlation_shift, 'hour' AS resolution, runs, drifted_runs"
)
HISTORY_RUN_COLUMNS = (
    RUN_COLUMNS + ", 'window' AS resolution, NULL::integer AS runs, NULL::integer AS drifted_runs"
)


async def drift_history(pool: Pool, w: Window, metric: str | None) -> list[Row]:
    """drift_runs newest first, continued by the hourly roll-ups of older results
    (drift_runs_hourly, ``resolution: hour``); with ``metric``: only rows having it, its value
    as ``value``. Both tables share the filtered columns and ``(window_end, id)`` stays unique
    across them (hourly ids are negative), so one keyset pages through both. The roll-ups keep
    the policy's metrics only: a vector stream's metric is served from drift_runs alone."""
    where, params = _where(w, "window_end")
    extra: sql.Composable = sql.SQL("")
    if metric is not None:
        if metric not in RUN_METRICS:
            raise ValueError(f"unknown metric {metric!r}")
        col = sql.Identifier(metric)
        cond = sql.SQL("{} IS NOT NULL").format(col)
        where = (
            (where + sql.SQL(" AND ") + cond)
            if params.keys() - {"limit"}
            else (sql.SQL("WHERE ") + cond)
        )
        extra = sql.SQL(", {} AS value").format(col)
    branch = sql.SQL("(SELECT {}{} FROM {} {} ORDER BY window_end DESC, id DESC LIMIT %(limit)s)")
    runs = branch.format(sql.SQL(HISTORY_RUN_COLUMNS), extra, sql.Identifier("drift_runs"), where)
    if metric is not None and metric not in METRICS:
        return await _fetch(pool, runs, params)
    query = sql.SQL("{} UNION ALL {} ORDER BY window_end DESC, id DESC LIMIT %(limit)s").format(
        runs,
        branch.format(sql.SQL(HOURLY_COLUMNS), extra, sql.Identifier("drift_runs_hourly"), where),
    )
    return await _fetch(pool, query, params)


# Latest run per (model, stream): a loose index scan over drift_runs_model_time_idx that visits
# each (model, stream) once instead of reading every row.
_LATEST = """
WITH RECURSIVE pairs AS (
    (SELECT model_id, stream FROM drift_runs WHERE {first}
     ORDER BY model_id, stream LIMIT 1)
    UNION ALL
    SELECT n.model_id, n.stream FROM pairs p CROSS JOIN LATERAL (
        SELECT d.model_id, d.stream FROM drift_runs d
        WHERE (d.model_id, d.stream) > (p.model_id, p.stream) AND {next}
        ORDER BY d.model_id, d.stream LIMIT 1) n
)
SELECT r.* FROM pairs p CROSS JOIN LATERAL (
    SELECT {cols} FROM drift_runs d WHERE d.model_id = p.model_id AND d.stream = p.stream
    ORDER BY d.window_end DESC, d.id DESC LIMIT 1) r
ORDER BY r.model_id, r.stream
"""


async def drift_latest(pool: Pool, model_id: str | None) -> list[Row]:
    """The latest drift_runs row of every (model, stream), optionally of one model."""
    first = "model_id = %(m)s" if model_id is not None else "true"
    nxt = "d.model_id = %(m)s" if model_id is not None else "true"
    query = _LATEST.format(first=first, next=nxt, cols=RUN_COLUMNS)
    return await _fetch(pool, sql.SQL(query), {"m": model_id})


async def alerts(pool: Pool, w: Window) -> list[Row]:
    return await _paged(pool, ALERT_COLUMNS, "alerts", "opened_at", w)


async def notifications(pool: Pool, w: Window) -> list[Row]:
    return await _paged(pool, NOTIFICATION_COLUMNS, "alert_notifications", "received_at", w)


async def insert_notifications(pool: Pool, rows: list[dict[str, Any]]) -> None:
    """One alert_notifications row per delivered alert, in one transaction."""

    async def work(conn: Conn) -> None:
        async with conn.transaction(), conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO alert_notifications (receiver, status, alertname, fingerprint, "
                "model_id, stream, severity, labels, annotations, starts_at, ends_at) VALUES "
                "(%(receiver)s, %(status)s, %(alertname)s, %(fingerprint)s, %(model_id)s, "
                "%(stream)s, %(severity)s, %(labels)s, %(annotations)s, %(starts_at)s, "
                "%(ends_at)s)",
                [
                    {**r, "labels": Jsonb(r["labels"]), "annotations": Jsonb(r["annotations"])}
                    for r in rows
                ],
            )

    await pool.run(work)


async def models(pool: Pool, after: str | None, limit: int) -> list[Row]:
    """Models ordered by id, ``limit + 1`` rows after ``after``."""
    return await _fetch(
        pool,
        f"SELECT {MODEL_COLUMNS} FROM models WHERE %(after)s::text IS NULL OR model_id > %(after)s "
        "ORDER BY model_id LIMIT %(limit)s",
        {"after": after, "limit": limit + 1},
    )


async def model(pool: Pool, model_id: str) -> Row | None:
    rows = await _fetch(
        pool, f"SELECT {MODEL_COLUMNS} FROM models WHERE model_id = %s", (model_id,)
    )
    return rows[0] if rows else None


async def set_thresholds(conn: Conn, model_id: str, thresholds: dict[str, Any]) -> Row:
    """Replace a model's thresholds (registering the model when new); inside the caller's tx."""
    cur = await conn.execute(
        "INSERT INTO models (model_id, thresholds) VALUES (%(m)s, %(t)s) "
        "ON CONFLICT (model_id) DO UPDATE SET thresholds = EXCLUDED.thresholds, updated_at = now() "
        f"RETURNING {MODEL_COLUMNS}",
        {"m": model_id, "t": Jsonb(thresholds)},
    )
    row = await cur.fetchone()
    assert row is not None
    return row


async def set_baseline_mode(conn: Conn, model_id: str, mode: str) -> Row | None:
    """``pinned``, or (any other mode: unpinned) back to the model's unpinned mode, rolling or
    seasonal; None when the model is unknown. Inside the caller's tx."""
    cur = await conn.execute(
        "UPDATE models SET baseline_mode = CASE WHEN %s = 'pinned' THEN 'pinned' "
        "ELSE unpinned_mode END, updated_at = now() WHERE model_id = %s "
        f"RETURNING {MODEL_COLUMNS}",
        (mode, model_id),
    )
    return await cur.fetchone()


async def set_unpinned_mode(conn: Conn, model_id: str, mode: str) -> Row | None:
    """``rolling`` or ``seasonal``: what the model rolls as when not pinned (and now, unless it
    is pinned); None when the model is unknown. Inside the caller's tx."""
    cur = await conn.execute(
        "UPDATE models SET unpinned_mode = %(mode)s, baseline_mode = CASE WHEN baseline_mode = "
        "'pinned' THEN 'pinned' ELSE %(mode)s END, updated_at = now() WHERE model_id = %(m)s "
        f"RETURNING {MODEL_COLUMNS}",
        {"mode": mode, "m": model_id},
    )
    return await cur.fetchone()


async def model_exists(conn: Conn, model_id: str) -> bool:
    cur = await conn.execute("SELECT 1 FROM models WHERE model_id = %s", (model_id,))
    return await cur.fetchone() is not None


async def accepted_changes(pool: Pool, w: Window) -> list[Row]:
    """accepted_changes newest first (keyset on accepted_at, id)."""
    return await _paged(pool, ACCEPTED_COLUMNS, "accepted_changes", "accepted_at", w)


_STATS = """
SELECT
  (SELECT count(*) FROM models) AS models,
  (SELECT count(*) FROM (SELECT 1 FROM inference_logs LIMIT %(cap)s) s) AS events,
  (SELECT count(*) FROM (SELECT 1 FROM drift_runs LIMIT %(cap)s) s) AS drift_runs,
  (SELECT count(*) FROM alerts WHERE status = 'open') AS open_alerts,
  (SELECT max(event_time) FROM inference_logs) AS last_event_at,
  (SELECT max(window_end) FROM drift_runs) AS last_drift_run_at,
  (SELECT coalesce(sum(greatest(c.reltuples::bigint, s.n_live_tup)), 0)
     FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE c.oid IN (SELECT inhrelid FROM pg_inherits
                     WHERE inhparent = 'inference_logs'::regclass)) AS events_estimate,
  (SELECT greatest(c.reltuples::bigint, s.n_live_tup)
     FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE c.oid = 'drift_runs'::regclass) AS drift_runs_estimate
"""


async def stats(pool: Pool) -> Row:
    """Counts for /stats: exact up to EXACT_COUNT_CAP rows, the planner's estimate above."""
    rows = await _fetch(pool, _STATS, {"cap": EXACT_COUNT_CAP + 1})
    row = rows[0]
    for key in ("events", "drift_runs"):
        row[f"{key}_estimated"] = row[key] > EXACT_COUNT_CAP
        if row[f"{key}_estimated"]:
            row[key] = max(int(row[f"{key}_estimate"] or 0), row[key])
    return row


async def ping(pool: Pool) -> None:
    """A round trip to PostgreSQL through ``pool``."""
    await _fetch(pool, "SELECT 1 AS ok")


PERFORMANCE_COLUMNS = (
    "window_start, window_end, task, inferences, labelled, too_late, labelled_share, accuracy, "
    "log_loss, ece, mae, rmse, bias, per_class, confusion, estimated_accuracy, "
    "estimated_confusion, computed_at"
)


async def performance_windows(
    pool: Pool, model_id: str, since: datetime | None, until: datetime | None, limit: int
) -> list[Row]:
    """A model's performance windows in [since, until), the newest ``limit``, oldest first
    (served by the table's primary key (model_id, window_start))."""
    query = sql.SQL(
        "SELECT * FROM (SELECT {} FROM performance_windows WHERE model_id = %(m)s"
        " AND (%(since)s::timestamptz IS NULL OR window_start >= %(since)s)"
        " AND (%(until)s::timestamptz IS NULL OR window_start < %(until)s)"
        " ORDER BY window_start DESC LIMIT %(limit)s) w ORDER BY window_start"
    ).format(sql.SQL(PERFORMANCE_COLUMNS))
    params = {"m": model_id, "since": since, "until": until, "limit": limit}
    return await _fetch(pool, query, params)
