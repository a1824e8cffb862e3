"""Columnar records through real Kafka and a worker: the same events as rows and as columnar
records give the same histograms in the changelog and the same inference_logs rows."""

from __future__ import annotations

from collections import defaultdict

import pytest

from drift.topics import Topics
from producers.records import columnar
from stream_app.state import BucketRecord
from tests.integration.stream_app.stream_support import read_changelog, records, wait_for_totals
from tests.integration.workers import WorkerProcess, produce, query, wait_for

pytestmark = pytest.mark.integration

T0 = 1_790_000_000 // 3600 * 3600
STREAMS = ("input.x", "input.y", "input.z", "prediction", "confidence")


def renamed(model: str, events: list[dict]) -> list[dict]:
    return [{**e, "model_id": model} for e in events]


def hists_by_bucket(bootstrap: str, app_id: str, model: str) -> dict[str, dict[str, bytes]]:
    out: dict[str, dict[str, bytes]] = defaultdict(dict)
    for key, value in read_changelog(bootstrap, app_id).items():
        text = key.decode().strip('"')
        parts = text.split("|")
        if parts[0] == model and len(parts) == 3 and parts[1] == "b":
            hists = BucketRecord.from_bytes(value).hists
            out[parts[2]] = {s: h.to_bytes() for s, h in hists.items()}
    return dict(out)


def test_rows_and_columnar_records_count_the_same(kafka, db_dsn, topic_prefix, tmp_path):
    topics = Topics(f"{topic_prefix}-")
    settings = {"max_event_age_seconds": 0, "max_future_seconds": 10**10}
    worker = WorkerProcess(kafka.bootstrap, db_dsn, topic_prefix, tmp_path, **settings)
    worker.start()
    try:
        batches = [evs for _, evs in records(["m"], T0, 1200, 2, 20)]  # 2,400 events
        rows = [("rows", renamed("rows", evs)) for evs in batches]
        cols = [("cols", columnar("cols", renamed("cols", evs))) for evs in batches]
        produce(kafka.bootstrap, topics.events, rows + cols)
        n = sum(len(b) for b in batches)
        expected = {(m, s): n for m in ("rows", "cols") for s in STREAMS}
        wait_for_totals(kafka.bootstrap, f"{topic_prefix}-app", expected, worker, 180)
        app_id = f"{topic_prefix}-app"
        as_rows = hists_by_bucket(kafka.bootstrap, app_id, "rows")
        assert as_rows and hists_by_bucket(kafka.bootstrap, app_id, "cols") == as_rows
        sql = "SELECT model_id, count(*) FROM inference_logs GROUP BY 1 ORDER BY 1"
        wait_for(lambda: query(db_dsn, sql) == [("cols", n), ("rows", n)], 120, "logs", worker)
    finally:
        worker.stop()
