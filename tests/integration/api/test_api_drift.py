"""GET /drift/latest and /drift/history over rows inserted with SQL."""

from __future__ import annotations

import pytest
from api_support import Api, at, insert, run_row
from psycopg.types.json import Jsonb

pytestmark = pytest.mark.integration


@pytest.fixture
def runs(api: Api) -> Api:
    rows = [run_row("m1", s, m) for s in ("a", "b") for m in range(1, 26)]
    rows += [run_row("m2", "a", m, status="drift", psi=0.3) for m in range(1, 4)]
    rows.append(run_row("m1", "c", 5, status="insufficient_data", kl_divergence=None))
    insert(api.dsn, "drift_runs", rows)
    return api


def test_latest_is_one_row_per_model_and_stream(runs: Api):
    items = runs.client.get("/drift/latest").json()["items"]
    got = [(r["model_id"], r["stream"], r["window_end"]) for r in items]
    assert got == [
        ("m1", "a", "2026-11-26T00:25:00Z"),
        ("m1", "b", "2026-11-26T00:25:00Z"),
        ("m1", "c", "2026-11-26T00:05:00Z"),
        ("m2", "a", "2026-11-26T00:03:00Z"),
    ]
    only = runs.client.get("/drift/latest", params={"model_id": "m2"}).json()["items"]
    assert [(r["model_id"], r["status"], r["psi"]) for r in only] == [("m2", "drift", 0.3)]
    assert runs.client.get("/drift/latest", params={"model_id": "none"}).json()["items"] == []


def test_history_pages_through_every_row_newest_first(runs: Api):
    seen: list[tuple[str, int]] = []
    params: dict[str, str | int] = {"model_id": "m1", "stream": "a", "limit": 10}
    pages = 0
    while True:
        body = runs.client.get("/drift/history", params=params).json()
        seen += [(r["window_end"], r["id"]) for r in body["items"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert pages == 3 and len(seen) == 25
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 25


def test_history_filters(runs: Api):
    def get(**params):
        return runs.client.get("/drift/history", params=params).json()["items"]

    assert {r["model_id"] for r in get(model_id="m2")} == {"m2"}
    assert len(get(status="drift")) == 3
    rng = get(model_id="m1", stream="b", **{"from": at(10).isoformat(), "to": at(20).isoformat()})
    assert [r["window_end"][11:16] for r in rng] == [f"00:{m}" for m in range(19, 9, -1)]
    psi = get(metric="psi")
    assert len(psi) == 3 and all(r["value"] == 0.3 for r in psi)
    kl = get(model_id="m1", stream="c", metric="kl_divergence")
    assert kl == []  # the only row there has no KL


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"metric": "accuracy"}, "metric"),
        ({"model_id": "bad id"}, "model_id"),
        ({"from": "yesterday"}, "from"),
    ],
)
def test_history_rejects_bad_parameters_naming_them(runs: Api, params, field):
    resp = runs.client.get("/drift/history", params=params)
    assert resp.status_code == 422
    assert resp.json()["error"]["field"] == field


def test_results_carry_their_data_quality_signals(api: Api):
    quality = {
        "issues": ["new_category"],
        "missing_share": 0.0,
        "baseline_missing_share": 0.0,
        "out_of_range_share": None,
        "new_category_share": 0.1,
        "schema": None,
        "p_values": {"new_category": 1e-40},
    }
    insert(
        api.dsn,
        "drift_runs",
        [
            run_row("m1", "country", 5, quality=Jsonb(quality), quality_issues=["new_category"]),
            run_row("m1", "old", 5, quality=None, quality_issues=None),  # an older worker
        ],
    )
    items = {r["stream"]: r for r in api.client.get("/drift/latest").json()["items"]}
    assert items["country"]["quality"] == quality and items["old"]["quality"] is None
    history = api.client.get("/drift/history", params={"stream": "country"}).json()["items"]
    assert history[0]["quality"]["issues"] == ["new_category"]
    # documented in the OpenAPI schema of a result
    spec = api.client.get("/openapi.json").json()["components"]["schemas"]
    assert "new_category" in str(spec["Quality"]["properties"]["issues"])
