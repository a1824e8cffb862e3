"""What each sink writes: drift results, alert transitions, baselines, inference logs."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
import psycopg
from confluent_kafka import Message
from psycopg.types.json import Jsonb

from drift import EventLimits, decode_record, histogram_from_bytes
from drift.eventtime import event_time_error
from drift.histogram import NumericHistogram
from drift.policy import Thresholds
from stream_app import queries

# orjson writes what orjson read (decoded events hold no integers beyond 64 bits): 3x json.dumps
_DUMPS = orjson.dumps

log = logging.getLogger(__name__)

# drift_runs has one column per metric of the detection policy
METRIC_COLUMNS = tuple(Thresholds.DIRECTIONS)


# drift-results fields of the verdict, stored as they come (None when absent: results of a
# worker from before the calibrated rule); "limit" is stored as score_limit (reserved word)
VERDICT_COLUMNS = (
    "rule",
    "p_value",
    "q_value",
    "score",
    "test",
    "effect",
    "null_center",
    "null_spread",
    "subwindows",
)


def _jsonb(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def drift_run(result: dict[str, Any]) -> dict[str, Any]:
    """The drift_runs row of one drift-results message (docs/architecture.md)."""
    row = {**result, **{m: result["metrics"].get(m) for m in METRIC_COLUMNS}}
    row.update({c: result.get(c) for c in VERDICT_COLUMNS})
    row["score_limit"] = result.get("limit")
    row["limits"] = _jsonb(result.get("limits"))
    row["new_categories"] = _jsonb(result.get("new_categories"))
    row["bins"] = _jsonb(result.get("bins"))
    return row


class OutputWriter:
    """Writes drift-results, drift-alerts and drift-baselines messages (dispatch by topic)."""

    def __init__(self, results_topic: str, alerts_topic: str, baselines_topic: str) -> None:
        self.results, self.alerts, self.baselines = results_topic, alerts_topic, baselines_topic

    def __call__(self, conn: psycopg.Connection[Any], msgs: Sequence[Message]) -> None:
        runs: list[dict[str, Any]] = []
        opens: list[dict[str, Any]] = []
        resolves: list[dict[str, Any]] = []
        models: set[str] = set()
        with conn.cursor() as cur:
            for msg in msgs:
                body = orjson.loads(msg.value() or b"null")
                topic = msg.topic()
                if topic == self.results:
                    runs.append(drift_run(body))
                    models.add(body["model_id"])
                elif topic == self.alerts:
                    (opens if body["transition"] == "open" else resolves).append(body)
                elif topic == self.baselines:
                    self._baseline(cur, body)
            cur.executemany(queries.UPSERT_MODEL, [(m,) for m in sorted(models)])
            if runs:
                cur.executemany(queries.UPSERT_DRIFT_RUN, runs)
            if opens:
                cur.executemany(queries.OPEN_ALERT, opens)
            if resolves:
                cur.executemany(queries.RESOLVE_ALERT, resolves)

    @staticmethod
    def _baseline(cur: psycopg.Cursor[Any], body: dict[str, Any]) -> None:
        if body["action"] == "accept":
            cur.execute(queries.INSERT_ACCEPTED_CHANGE, accepted_change(body))
            return
        if body["action"] == "unpin":
            cur.execute(queries.DELETE_BASELINES, (body["model_id"],))
            return
        cur.execute(queries.DELETE_BASELINES, (body["model_id"],))
        for stream, hexed in body["histograms"].items():
            raw = bytes.fromhex(hexed)
            hist = histogram_from_bytes(raw)
            kind = "numeric" if isinstance(hist, NumericHistogram) else "categorical"
            cur.execute(
                queries.UPSERT_BASELINE,
                (
                    body["model_id"],
                    stream,
                    kind,
                    raw,
                    hist.count + hist.missing,
                    body["window_start"],
                    body["window_end"],
                    body["pinned_at"],
                ),
            )


def accepted_change(body: dict[str, Any]) -> dict[str, Any]:
    """The accepted_changes row of a drift-baselines ``accept`` record."""
    return {
        "model_id": body["model_id"],
        "streams": [str(s) for s in body.get("streams") or []],
        "accepted_by": str(body.get("by") or "unknown"),
        "accepted_at": float(body["accepted_at"]),
    }


def _sampled(event_id: str, rate: float) -> bool:
    """Deterministic sampling by event id, so a replay keeps exactly the same events."""
    if rate >= 1.0:
        return True
    digest = hashlib.blake2b(event_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < rate


def partition_days(
    days: set[dt.date], now: float, keep_seconds: float, ahead_seconds: float
) -> set[dt.date]:
    """The days whose inference_logs partition may be created: those overlapping
    [now - keep_seconds, now + ahead_seconds]. Rows of other days go to the default partition,
    so stray timestamps (one per day for years) never create thousands of partitions."""
    first = dt.datetime.fromtimestamp(now - keep_seconds, dt.UTC).date()
    last = dt.datetime.fromtimestamp(now + ahead_seconds, dt.UTC).date()
    return {day for day in days if first <= day <= last}


class InferenceLogWriter:
    """Stores raw inferences: COPY into a staging table, then an INSERT that skips events
    stored already (same model_id and event_id within ``horizon`` s of event time).

    Daily partitions are ensured only inside the retained span (``keep_seconds`` back,
    ``ahead_seconds`` ahead of now: the event-time bounds the API enforces too)."""

    def __init__(
        self,
        sample_rate: float = 1.0,
        limits: EventLimits | None = None,
        keep_seconds: float = 90_000.0,
        ahead_seconds: float = 300.0,
        horizon: float = 3600,
        time_bounds: tuple[float, float] | None = None,
    ) -> None:
        self.rate = sample_rate
        self.limits = limits or EventLimits()
        self.keep_seconds, self.ahead_seconds = keep_seconds, ahead_seconds
        self.horizon = horizon  # s: the same event_id this close in event time is stored once
        # (max_future, max_age): events the worker refuses by time are not stored either
        self.time_bounds = time_bounds

    def _in_bounds(self, ts: float | None, ingest: float) -> bool:
        if ts is None or self.time_bounds is None or ingest <= 0:
            return True
        max_future, max_age = self.time_bounds
        return event_time_error(ts, ingest, max_future, max_age or math.inf) is None

    def __call__(self, conn: psycopg.Connection[Any], msgs: Sequence[Message]) -> None:
        rows = []
        for msg in msgs:
            ingest = (msg.timestamp()[1] or 0) / 1000.0
            seed = f"{msg.partition()}-{msg.offset()}"  # same ids when a replay re-reads it
            for ev in decode_record(msg.value() or b"", self.limits, seed).events:
                if not self._in_bounds(ev.timestamp, ingest):
                    continue
                if _sampled(ev.event_id, self.rate):
                    ts = dt.datetime.fromtimestamp(ev.timestamp or ingest, dt.UTC)
                    rows.append(
                        (
                            ev.model_id,
                            ev.event_id,
                            ts,
                            Jsonb(ev.input_data, _DUMPS),
                            Jsonb(ev.prediction, _DUMPS),
                            ev.confidence,
                            Jsonb(ev.metadata, _DUMPS),
                        )
                    )
        if not rows:
            return
        with conn.cursor() as cur:
            # every batch: a partition created in a transaction that then rolled back is gone
            days = {r[2].date() for r in rows}
            for day in partition_days(days, time.time(), self.keep_seconds, self.ahead_seconds):
                cur.execute(queries.ENSURE_PARTITION, (day,))
            cur.execute(queries.STAGE_LOGS)
            with cur.copy(queries.COPY_LOGS) as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(queries.MERGE_LOGS, {"horizon": self.horizon})


class AlertAnnotations:
    """Alert transitions as Grafana annotations, posted by a thread of their own.

    The results sink hands over each batch once PostgreSQL has committed it (``committed``);
    ``annotate`` (``GrafanaAnnotator.annotate_alert``) runs on this class's daemon thread, so a
    slow or failing Grafana never blocks the sink. A failed post is logged and counted in
    ``failed``; when the queue is full a transition is dropped and counted in ``dropped``.
    """

    def __init__(
        self,
        alerts_topic: str,
        annotate: Callable[[Mapping[str, Any]], object],
        capacity: int = 1000,
    ) -> None:
        self.alerts_topic, self.annotate = alerts_topic, annotate
        self.posted = self.failed = self.dropped = 0
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(capacity)
        self._thread = threading.Thread(target=self._run, name="grafana-annotations", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with contextlib.suppress(queue.Full):  # the thread is a daemon: it dies with us
            self._queue.put(None, timeout=1.0)

    def committed(self, msgs: Sequence[Message]) -> None:
        """Queue the alert transitions among ``msgs`` (a batch already committed)."""
        for msg in msgs:
            if msg.topic() != self.alerts_topic:
                continue
            try:
                self._queue.put_nowait(orjson.loads(msg.value() or b"null"))
            except queue.Full:
                self.dropped += 1
                log.warning("Grafana annotation queue full: dropped a transition")

    def _run(self) -> None:
        while (transition := self._queue.get()) is not None:
            try:
                self.annotate(transition)
                self.posted += 1
            except Exception as exc:  # a bad answer or no Grafana: log, count, continue
                self.failed += 1
                log.warning(
                    "Grafana annotation failed for %s/%s (%s): %s",
                    transition.get("model_id"),
                    transition.get("stream"),
                    transition.get("transition"),
                    exc,
                )
