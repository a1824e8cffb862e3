"""The retention job on a real PostgreSQL (issue 14): inference_logs partitions older than
DRIFT_LOG_RETENTION_DAYS are dropped, recent ones kept; drift_runs older than
DRIFT_RUNS_ROLLUP_DAYS become hourly rows, every result within the window stays as it was,
and the API's history continues into the hourly rows."""

from __future__ import annotations

import datetime as dt
import threading
import time

import psycopg
import pytest
from prometheus_client import CollectorRegistry

from sinks.metrics import SinkMetrics
from sinks.retention import LOCK_KEY, RetentionJob, cutoffs, run_retention

pytestmark = pytest.mark.integration

DAY = 86400
NOW = time.time()


def _day(days_ago: int) -> dt.date:
    return (dt.datetime.fromtimestamp(NOW, dt.UTC) - dt.timedelta(days=days_ago)).date()


def _partitions(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'inference_logs'::regclass"
    ).fetchall()
    return {r[0] for r in rows}


def _seed_logs(conn: psycopg.Connection, days_ago: range) -> None:
    for n in days_ago:
        conn.execute("SELECT ensure_inference_logs_partition(%s)", (_day(n),))
        at = dt.datetime.combine(_day(n), dt.time(12), dt.UTC)
        conn.execute(
            "INSERT INTO inference_logs (model_id, event_id, event_time, input_data) "
            "VALUES ('m', %s, %s, '{}')",
            (f"e{n}", at),
        )


def _seed_runs(conn: psycopg.Connection, start: float, hours: int, every: int = 600) -> None:
    """Runs of two streams every ``every`` s for ``hours`` hours after ``start``."""
    rows = []
    for i in range(hours * 3600 // every):
        end = start + (i + 1) * every
        for stream in ("input.x", "prediction"):
            drifted = i % 6 == 0 and stream == "input.x"
            rows.append(
                {
                    "model_id": "m",
                    "stream": stream,
                    "end": end,
                    "status": "drift" if drifted else "ok",
                    "kl": 0.5 if drifted else 0.01 * (i % 5),
                    "cos": 0.7 if drifted else 0.99,
                    "metrics": ["kl_divergence"] if drifted else [],
                    "recent": 1000 + i,
                }
            )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO drift_runs (model_id, stream, stream_kind, window_start, window_end, "
            "baseline_mode, status, kl_divergence, cosine_similarity, recent_count, "
            "baseline_count, drifted_metrics, bins, rule, p_value, score, score_limit) "
            "VALUES (%(model_id)s, %(stream)s, 'numeric', to_timestamp(%(end)s - 3600), "
            "to_timestamp(%(end)s), 'rolling', %(status)s, %(kl)s, %(cos)s, %(recent)s, 5000, "
            "%(metrics)s, '{\"labels\": [1, 2]}', 'calibrated', 0.5, 1.0, 2.6)",
            rows,
        )


def _job(dsn: str) -> tuple[RetentionJob, CollectorRegistry]:
    registry = CollectorRegistry()
    return RetentionJob(dsn, 14, 30, 3600, SinkMetrics(registry)), registry


def test_old_partitions_go_recent_ones_and_all_results_within_the_window_stay(db_dsn):
    cut = cutoffs(NOW, 14, 30)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        _seed_logs(conn, range(0, 20))
        # stray old rows in the default partition (days given no partition of their own)
        conn.execute(
            "INSERT INTO inference_logs_default (model_id, event_id, event_time, input_data) "
            "VALUES ('m', 'old', now() - interval '40 days', '{}'), "
            "('m', 'new', now() + interval '10 days', '{}')"
        )
        _seed_runs(conn, cut.runs.timestamp() - 5 * 3600, 10)  # 5 h before, 5 h after
        before = _partitions(conn)
        kept_runs = conn.execute(
            "SELECT * FROM drift_runs WHERE window_end > %s ORDER BY id", (cut.runs,)
        ).fetchall()
        old = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'drift'), max(kl_divergence) "
            "FROM drift_runs WHERE window_end <= %s",
            (cut.runs,),
        ).fetchone()
    assert old is not None and old[0] == 2 * 5 * 6 and kept_runs

    job, registry = _job(db_dsn)
    done = job.run_once(NOW)

    with psycopg.connect(db_dsn) as conn:
        after = _partitions(conn)
        logs = {r[0] for r in conn.execute("SELECT event_id FROM inference_logs")}
        runs_now = conn.execute(
            "SELECT * FROM drift_runs WHERE window_end > %s ORDER BY id", (cut.runs,)
        ).fetchall()
        left_old = conn.execute(
            "SELECT count(*) FROM drift_runs WHERE window_end <= %s", (cut.runs,)
        ).fetchone()
        hourly = conn.execute(
            "SELECT stream, window_end, runs, drifted_runs, status, kl_divergence, "
            "cosine_similarity, recent_count, drifted_metrics FROM drift_runs_hourly "
            "ORDER BY stream, window_end"
        ).fetchall()
    # a partition whose whole day is older than 14 days is gone: days 15..19 ago; day 14 ago
    # ends less than 14 days ago only if now is past midnight, so it may stay
    dropped = before - after
    assert {f"inference_logs_{_day(n):%Y%m%d}" for n in range(15, 20)} <= dropped
    assert dropped <= {f"inference_logs_{_day(n):%Y%m%d}" for n in range(14, 20)}
    assert {f"inference_logs_{_day(n):%Y%m%d}" for n in range(0, 14)} <= after
    assert "inference_logs_default" in after
    assert {f"e{n}" for n in range(0, 14)} <= logs and not logs & {f"e{n}" for n in range(15, 20)}
    assert "new" in logs and "old" not in logs
    assert set(done.partitions_dropped) == dropped and done.log_rows_deleted == 1
    # every result within the window is untouched, the older ones are hourly rows
    assert runs_now == kept_runs
    assert left_old == (0,)
    assert done.runs_rolled_up == old[0]
    assert len(hourly) == 2 * 5  # two streams, five hours
    assert sum(h[2] for h in hourly) == old[0]
    assert sum(h[3] for h in hourly) == old[1]
    assert max(h[5] for h in hourly) == old[2]
    assert all(h[1] <= cut.runs and h[1] == h[1].replace(minute=0, second=0) for h in hourly)
    x_rows = [h for h in hourly if h[0] == "input.x"]
    assert all(h[4] == "drift" and h[8] == ["kl_divergence"] and h[6] == 0.7 for h in x_rows)
    assert all(h[4] == "ok" and h[3] == 0 for h in hourly if h[0] == "prediction")

    # the metrics moved, and a second run finds nothing left to do
    assert registry.get_sample_value("drift_retention_partitions_dropped_total") == len(dropped)
    assert registry.get_sample_value("drift_retention_runs_rolled_up_total") == old[0]
    assert registry.get_sample_value("drift_retention_last_run_timestamp_seconds") > NOW - 60
    again = job.run_once(NOW)
    assert again.partitions_dropped == () and again.runs_rolled_up == 0
    with psycopg.connect(db_dsn) as conn:
        assert conn.execute("SELECT sum(runs) FROM drift_runs_hourly").fetchone() == (old[0],)


def test_a_late_run_merges_into_its_hour(db_dsn):
    cut = cutoffs(NOW, 14, 30)
    hour = cut.runs - dt.timedelta(hours=2)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        _seed_runs(conn, hour.timestamp(), 1, every=1200)  # :20, :40, :60 of one hour
        first = run_retention(conn, cut)
        conn.execute(
            "INSERT INTO drift_runs (model_id, stream, stream_kind, window_start, window_end, "
            "status, kl_divergence, recent_count, baseline_count, drifted_metrics) "
            "VALUES ('m', 'prediction', 'numeric', %s, %s, 'drift', 0.9, 7, 8, '{psi}')",
            (hour, hour + dt.timedelta(minutes=10)),
        )
        second = run_retention(conn, cut)
        # a replay of a run already rolled up (the sink upserts it again) counts once
        conn.execute(
            "INSERT INTO drift_runs (model_id, stream, stream_kind, window_start, window_end, "
            "status, kl_divergence, recent_count, baseline_count) "
            "VALUES ('m', 'prediction', 'numeric', %s, %s, 'ok', 0.0, 7, 8)",
            (hour, hour + dt.timedelta(minutes=20)),
        )
        third = run_retention(conn, cut)
        row = conn.execute(
            "SELECT runs, drifted_runs, status, kl_divergence, drifted_metrics, last_status "
            "FROM drift_runs_hourly WHERE stream = 'prediction'"
        ).fetchone()
    assert (first.runs_rolled_up, second.runs_rolled_up, third.runs_rolled_up) == (6, 1, 1)
    # the late run is the hour's earliest: it moves the worst values, not the last status
    assert row == (4, 1, "drift", 0.9, ["psi"], "ok")


def test_a_second_process_skips_while_one_holds_the_lock(db_dsn):
    cut = cutoffs(NOW, 14, 30)
    with (
        psycopg.connect(db_dsn, autocommit=True) as holder,
        psycopg.connect(db_dsn, autocommit=True) as other,
    ):
        _seed_runs(holder, cut.runs.timestamp() - 3600, 1)
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        assert run_retention(other, cut).locked_out
        assert other.execute("SELECT count(*) FROM drift_runs_hourly").fetchone() == (0,)
        holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        results = []
        threads = [
            threading.Thread(target=lambda: results.append(_job(db_dsn)[0].run_once(NOW)))
            for _ in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        total = holder.execute("SELECT coalesce(sum(runs), 0) FROM drift_runs_hourly").fetchone()
    assert sum(r.runs_rolled_up for r in results) == 12 and total == (12,)
