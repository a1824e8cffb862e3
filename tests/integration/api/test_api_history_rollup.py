"""GET /drift/history continues into the hourly roll-ups of old results (sql/006): one keyset
pages through recent runs and then hourly rows, newest first, filters applying to both."""

from __future__ import annotations

import psycopg
import pytest
from api_support import Api, at, insert, run_row

pytestmark = pytest.mark.integration


@pytest.fixture
def rolled(api: Api) -> Api:
    """m1/a every 5 min for 10 h; the first 5 h rolled up into hourly rows."""
    rows = [
        run_row("m1", "a", m, status="drift" if m % 60 == 30 else "ok") for m in range(5, 601, 5)
    ]
    rows += [run_row("m2", "a", m) for m in range(5, 601, 5)]
    insert(api.dsn, "drift_runs", rows)
    with psycopg.connect(api.dsn, autocommit=True) as conn:
        moved = conn.execute("SELECT rollup_drift_runs(%s)", (at(300),)).fetchone()
    assert moved == (120,)
    return api


def _pages(api: Api, **params: str | int) -> list[dict]:
    items: list[dict] = []
    query: dict[str, str | int] = {"limit": 7, **params}
    while True:
        body = api.client.get("/drift/history", params=query).json()
        items += body["items"]
        if body["next_cursor"] is None:
            return items
        query["cursor"] = body["next_cursor"]


def test_history_pages_from_runs_into_hourly_rows(rolled: Api):
    items = _pages(rolled, model_id="m1", stream="a")
    keys = [(r["window_end"], r["id"]) for r in items]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)
    kinds = [r["resolution"] for r in items]
    assert kinds == ["window"] * 60 + ["hour"] * 5
    hours = items[60:]
    assert [h["window_end"][11:16] for h in hours] == ["05:00", "04:00", "03:00", "02:00", "01:00"]
    assert all(h["runs"] == 12 and h["drifted_runs"] == 1 for h in hours)
    assert all(h["status"] == "drift" for h in hours)
    # the hour's worst KL: its last run's (KL grows with the minute)
    assert hours[0]["kl_divergence"] == pytest.approx(0.01 * 300)
    assert items[59]["window_end"][11:16] == "05:05" and items[59]["runs"] is None


def test_filters_and_metric_apply_to_hourly_rows(rolled: Api):
    def get(**params):
        return rolled.client.get("/drift/history", params={"limit": 500, **params}).json()

    drifted = get(model_id="m1", status="drift")["items"]
    assert [r["resolution"] for r in drifted] == ["window"] * 5 + ["hour"] * 5
    span = get(model_id="m2", **{"from": at(200).isoformat(), "to": at(400).isoformat()})
    ends = [r["window_end"][11:16] for r in span["items"]]
    assert ends[0] == "06:35" and ends[-1] == "04:00" and "05:00" in ends  # 05:00: an hour
    kl = get(model_id="m2", metric="kl_divergence")["items"]
    assert len(kl) == 60 + 5 and all(r["value"] == r["kl_divergence"] for r in kl)
