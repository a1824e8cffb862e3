"""Vector streams on the dashboard, in headless Chromium against a live API on real Kafka and
PostgreSQL: model ``recsys`` with ``embedding.text`` (drifting in its last hour), ``multivariate``
and one numeric stream, 24 h of 5-minute windows of its own (the other modules' rows are not
here, so their counts stay as they are)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from drift.topics import Topics
from sql.migrations import migrate
from tests.integration.api.api_support import Api, insert, make_settings, running_api, sql
from tests.integration.ui.browser import console_errors, foreign_requests, wait
from tests.integration.ui.dashboard_data import STEP, WINDOWS, last_window_end

pytestmark = pytest.mark.integration

VECTOR_CHARTS = ["cosine_distance", "sliced_wasserstein", "drifted_projections", "score"]


def vector_run(stream: str, end: datetime, i: int) -> dict[str, Any]:
    drifting = stream == "embedding.text" and i >= WINDOWS - 12
    insufficient = i < 12
    wiggle = 0.001 * (1 + math.sin(i / 7))
    score = 6.0 if drifting else 0.4 + wiggle
    return {
        "model_id": "recsys",
        "stream": stream,
        "stream_kind": "vector",
        "window_start": end - timedelta(hours=1),
        "window_end": end,
        "status": "insufficient_data" if insufficient else "drift" if drifting else "ok",
        "cosine_distance": None if insufficient else (0.08 if drifting else 0.002 + wiggle),
        "sliced_wasserstein": None if insufficient else (0.05 if drifting else 0.01),
        "drifted_projections": None if insufficient else (0.5 if drifting else 0.0625),
        "mean_shift": None if insufficient else (1.5 if drifting else 0.1),
        "correlation_shift": None if insufficient else (0.3 if drifting else 0.02),
        "rule": None if insufficient else "calibrated",
        "p_value": None if insufficient else 10**-score,
        "score": None if insufficient else score,
        "score_limit": None if insufficient else 2.5,
        "effect": None if insufficient else (0.4 if drifting else 0.01),
        "recent_count": 60 if insufficient else 3600,
        "baseline_count": 400 if insufficient else 86400,
        "drifted_metrics": [],
    }


def numeric_run(end: datetime, i: int) -> dict[str, Any]:
    return {
        "model_id": "recsys",
        "stream": "input.x",
        "stream_kind": "numeric",
        "window_start": end - timedelta(hours=1),
        "window_end": end,
        "status": "ok",
        "kl_divergence": 0.01,
        "cosine_similarity": 0.99,
        "recent_count": 3600,
        "baseline_count": 86400,
        "drifted_metrics": [],
    }


@pytest.fixture(scope="module")
def dashboard_api(kafka, postgres) -> Iterator[Api]:
    dsn = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")
    migrate(dsn)
    last = last_window_end(datetime.now(UTC))
    sql(dsn, "INSERT INTO models (model_id, display_name) VALUES ('recsys', 'recsys')")
    ends = [last - (WINDOWS - 1 - i) * STEP for i in range(WINDOWS)]
    for stream in ("embedding.text", "multivariate"):
        insert(dsn, "drift_runs", [vector_run(stream, end, i) for i, end in enumerate(ends)])
    insert(dsn, "drift_runs", [numeric_run(end, i) for i, end in enumerate(ends)])
    prefix = f"t{uuid.uuid4().hex[:8]}"
    kafka.create_topics(Topics(prefix).all(), partitions=1)
    with running_api(make_settings(kafka.bootstrap, dsn, prefix)) as api:
        yield api


def open_view(chrome, base_url: str, fragment: str) -> None:
    chrome.get("about:blank")  # a fresh page load, not just a hash change
    chrome.get(f"{base_url}/ui{fragment}")
    wait(chrome, "document.getElementById('view').dataset.loaded")


def charts_of(card) -> dict[str, dict[str, str]]:
    return {
        c.get_attribute("data-metric"): {
            "points": c.get_attribute("data-points"),
            "last": c.get_attribute("data-last"),
            "title": c.find_element(By.TAG_NAME, "h3").text,
        }
        for c in card.find_elements(By.CSS_SELECTOR, ".chart")
    }


def requested(chrome) -> list[str]:
    return chrome.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")


def test_model_page_lists_vector_streams_with_their_metrics(chrome, base_url, shots):
    open_view(chrome, base_url, "#/model/recsys")
    latest = {
        r.get_attribute("data-stream"): r.text
        for r in chrome.find_elements(By.CSS_SELECTOR, "#latest tbody tr")
    }
    assert set(latest) == {"embedding.text", "multivariate", "input.x"}
    assert "drift" in latest["embedding.text"] and "2.40" in latest["embedding.text"]  # 6 ÷ 2.5
    # a vector stream's own figures where a stream of values has KL ... KS, never dashes
    figures = chrome.find_element(
        By.CSS_SELECTOR, '#latest tr[data-stream="embedding.text"] td.vector-figures'
    )
    assert figures.get_attribute("colspan") == "5"
    assert "cosine distance 0.080" in figures.text and "drifted projections 50" in figures.text
    assert "sliced W 0.050" in figures.text
    cards = {
        c.get_attribute("data-stream"): c
        for c in chrome.find_elements(By.CSS_SELECTOR, ".stream-charts")
    }
    assert next(iter(cards)) == "embedding.text"  # drifting first
    text = charts_of(cards["embedding.text"])
    assert list(text) == VECTOR_CHARTS
    assert all(int(c["points"]) > 200 for c in text.values())
    assert float(text["cosine_distance"]["last"]) == pytest.approx(0.08)
    assert float(text["sliced_wasserstein"]["last"]) == pytest.approx(0.05)
    assert float(text["drifted_projections"]["last"]) == pytest.approx(0.5)
    assert float(text["score"]["last"]) == pytest.approx(6.0)
    assert text["drifted_projections"]["title"] == "share of drifted projections"
    assert "limit" in text["score"]["title"]
    multi = charts_of(cards["multivariate"])
    assert list(multi) == VECTOR_CHARTS
    assert float(multi["score"]["last"]) < 2.5
    # a numeric stream of the same model keeps the chosen metrics' charts
    assert list(charts_of(cards["input.x"])) == ["kl_divergence", "cosine_similarity"]
    assert console_errors(chrome) == [] and foreign_requests(chrome, base_url) == []
    chrome.save_screenshot(str(shots / "model-vectors.png"))


def test_vector_stream_view_shows_metrics_over_time_without_a_histogram(chrome, base_url, shots):
    open_view(chrome, base_url, "#/stream/recsys/embedding.text")
    assert "vector stream of model recsys" in chrome.find_element(By.TAG_NAME, "h1").text
    view = chrome.find_element(By.ID, "vector-stream")
    charts = charts_of(view)
    assert list(charts) == VECTOR_CHARTS
    assert all(int(c["points"]) > 200 for c in charts.values())
    assert float(charts["cosine_distance"]["last"]) == pytest.approx(0.08)
    assert chrome.find_elements(By.ID, "bars") == []
    assert not [u for u in requested(chrome) if "/distribution" in u]
    assert any("/drift/history" in u and "stream=embedding.text" in u for u in requested(chrome))
    rows = {
        r.get_attribute("data-metric"): r.find_elements(By.TAG_NAME, "td")[1].text
        for r in chrome.find_elements(By.CSS_SELECTOR, "#vector-metrics tbody tr")
    }
    assert rows == {
        "cosine_distance": "0.0800",
        "sliced_wasserstein": "0.0500",
        "drifted_projections": "50.0 %",
        "mean_shift": "1.5000",
        "correlation_shift": "0.3000",
    }
    facts = chrome.find_element(By.CSS_SELECTOR, ".facts").text
    assert "6.000 / 2.500" in facts and "p-value limit" in facts and "0.0032" in facts
    assert chrome.find_element(By.ID, "pin").is_displayed()
    assert console_errors(chrome) == [] and foreign_requests(chrome, base_url) == []
    chrome.save_screenshot(str(shots / "stream-vector.png"))


def test_numeric_stream_view_still_asks_for_its_distribution(chrome, base_url):
    open_view(chrome, base_url, "#/stream/recsys/input.x")
    assert chrome.find_elements(By.ID, "vector-stream") == []
    assert [u for u in requested(chrome) if "/distribution" in u]
