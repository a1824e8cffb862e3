"""The retention job of the sinks: old inference logs dropped, old drift results rolled up.

Every ``DRIFT_RETENTION_INTERVAL_SECONDS`` the sinks process

- drops the inference_logs daily partitions entirely older than ``DRIFT_LOG_RETENTION_DAYS``
  (their upper bound at or before now - that many days) and deletes the rows of the default
  partition older than that (stray days the sink gave no partition of their own);
- moves the drift_runs rows with ``window_end`` at or before the hour boundary
  ``DRIFT_RUNS_ROLLUP_DAYS`` ago into drift_runs_hourly (``rollup_drift_runs``, sql/006), one
  day of rows per transaction, oldest first, so a first run over months of rows stays small.

Both are idempotent (a second run finds nothing to do) and a session advisory lock keeps two
sinks processes from running them at once: the one that does not get the lock skips the run.
Each run logs one INFO line and moves the ``drift_retention_*`` metrics.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from sinks import queries
from sinks.metrics import SinkMetrics

log = logging.getLogger(__name__)

LOCK_KEY = 0x64726972  # "drir": the retention job's advisory lock (migrations hold "drif")
ROLLUP_CHUNK = dt.timedelta(days=1)


@dataclass(frozen=True)
class RetentionCutoffs:
    logs: dt.datetime  # inference_logs partitions ending at or before this are dropped
    runs: dt.datetime  # drift_runs with window_end at or before this are rolled up


@dataclass(frozen=True)
class RetentionRun:
    partitions_dropped: tuple[str, ...] = ()
    log_rows_deleted: int = 0
    runs_rolled_up: int = 0
    locked_out: bool = False  # another process held the lock: nothing was done


def cutoffs(now: float, log_days: int, rollup_days: int) -> RetentionCutoffs:
    """The retention boundaries at ``now`` (epoch seconds); the roll-up one on an hour."""
    at = dt.datetime.fromtimestamp(now, dt.UTC)
    runs = (at - dt.timedelta(days=rollup_days)).replace(minute=0, second=0, microsecond=0)
    return RetentionCutoffs(logs=at - dt.timedelta(days=log_days), runs=runs)


def rollup_steps(oldest: dt.datetime | None, cutoff: dt.datetime) -> list[dt.datetime]:
    """Hour-aligned cutoffs from the oldest row's day to ``cutoff``, a day apart, ``cutoff``
    last; none when nothing is old enough."""
    if oldest is None or oldest > cutoff:
        return []
    first = oldest.replace(minute=0, second=0, microsecond=0) + ROLLUP_CHUNK
    steps = []
    while first < cutoff:
        steps.append(first)
        first += ROLLUP_CHUNK
    return [*steps, cutoff]


def run_retention(conn: psycopg.Connection[Any], at: RetentionCutoffs) -> RetentionRun:
    """One retention run on ``conn`` (autocommit: each step commits on its own)."""
    got = conn.execute(queries.TRY_LOCK, (LOCK_KEY,)).fetchone()
    if not got or not got[0]:
        return RetentionRun(locked_out=True)
    try:
        with conn.transaction():
            conn.execute(queries.RETENTION_LOCK_TIMEOUT)
            dropped = tuple(r[0] for r in conn.execute(queries.DROP_PARTITIONS, (at.logs,)))
            deleted = conn.execute(queries.DELETE_OLD_DEFAULT_LOGS, (at.logs,)).rowcount
        oldest = conn.execute(queries.OLDEST_RUN).fetchone()
        rolled = 0
        for step in rollup_steps(oldest[0] if oldest else None, at.runs):
            with conn.transaction():
                row = conn.execute(queries.ROLLUP_RUNS, (step,)).fetchone()
                rolled += int(row[0]) if row else 0
    finally:
        conn.execute(queries.UNLOCK, (LOCK_KEY,))
    return RetentionRun(dropped, max(deleted, 0), rolled)


class RetentionJob:
    """Runs ``run_retention`` every ``interval`` seconds until ``stop`` is set."""

    def __init__(
        self, dsn: str, log_days: int, rollup_days: int, interval: float, metrics: SinkMetrics
    ) -> None:
        self.dsn, self.log_days, self.rollup_days = dsn, log_days, rollup_days
        self.interval, self.metrics = interval, metrics

    def run_once(self, now: float | None = None) -> RetentionRun:
        started = time.monotonic()
        at = cutoffs(time.time() if now is None else now, self.log_days, self.rollup_days)
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
            done = run_retention(conn, at)
        if done.locked_out:
            log.info("retention: another sinks process holds the lock; skipped this run")
            return done
        self.metrics.partitions_dropped.inc(len(done.partitions_dropped))
        self.metrics.log_rows_deleted.inc(done.log_rows_deleted)
        self.metrics.runs_rolled_up.inc(done.runs_rolled_up)
        self.metrics.last_run.set(time.time())
        log.info(
            "retention: dropped %d inference_logs partitions %s and %d default-partition rows "
            "before %s; rolled %d drift_runs rows up to hourly before %s (%.2f s)",
            len(done.partitions_dropped),
            list(done.partitions_dropped),
            done.log_rows_deleted,
            at.logs.isoformat(timespec="seconds"),
            done.runs_rolled_up,
            at.runs.isoformat(timespec="seconds"),
            time.monotonic() - started,
        )
        return done

    def loop(self, stop: threading.Event) -> None:
        """The first run at once, then one per interval; a failed run is logged and counted."""
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                self.metrics.failures.inc()
                log.exception("retention run failed; trying again in %.0f s", self.interval)
            stop.wait(self.interval)
