"""The dashboard in headless Chromium against a live API on real Kafka and PostgreSQL holding the
rows of dashboard_data: overview, model page, stream view and the baseline buttons."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver.common.by import By

from tests.integration.api.api_support import consume, insert, sql
from tests.integration.ui import dashboard_data
from tests.integration.ui.browser import console_errors, foreign_requests, wait

pytestmark = pytest.mark.integration


# records what the page sends: [url, method, body] per fetch
RECORD_FETCH = """
window.sent = [];
const original = window.fetch;
window.fetch = (url, opts = {}) => {
  window.sent.push([String(url), opts.method || "GET", opts.body || null]);
  return original(url, opts);
};
"""


def open_view(chrome, base_url: str, fragment: str) -> float:
    """Load /ui<fragment> and wait until the view is drawn; returns the seconds it took."""
    chrome.get("about:blank")  # a fresh page load, not just a hash change
    started = time.monotonic()
    chrome.get(f"{base_url}/ui{fragment}")
    wait(chrome, "document.getElementById('view').dataset.loaded")
    return time.monotonic() - started


def painted(chrome, selector: str) -> int:
    """Pixels of the canvas at ``selector`` that are not transparent."""
    return chrome.execute_script(
        """const c = document.querySelector(arguments[0]);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n;""",
        selector,
    )


def test_overview_shows_models_heatmap_and_alert_feed(chrome, base_url, shots):
    seconds = open_view(chrome, base_url, "#/")
    rows = chrome.find_elements(By.CSS_SELECTOR, "#models tbody tr")
    status = {r.get_attribute("data-model"): r.text for r in rows}
    assert set(status) == {"fraud", "churn"}
    assert "2 / 4" in status["fraud"] and "0 / 4" in status["churn"]
    canvas = chrome.find_element(By.CSS_SELECTOR, "#heatmap canvas")
    assert canvas.get_attribute("data-rows") == "8" and int(canvas.get_attribute("data-cells")) > 50
    assert painted(chrome, "#heatmap canvas") > 10_000
    feed = chrome.find_elements(By.CSS_SELECTOR, "#feed li")
    kinds = [li.get_attribute("data-kind") for li in feed]
    assert kinds == ["opened", "opened", "resolved", "opened"]
    assert "input.country" in feed[0].text  # newest first
    assert foreign_requests(chrome, base_url) == [] and console_errors(chrome) == []
    chrome.save_screenshot(str(shots / "overview.png"))
    print(f"overview drawn in {seconds:.2f} s; screenshots in {shots}")


def test_time_range_and_links_keep_state_in_the_url(chrome, base_url):
    open_view(chrome, base_url, "#/?range=6h")
    assert chrome.find_element(By.ID, "range").get_attribute("value") == "6h"
    chrome.find_element(By.LINK_TEXT, "fraud").click()
    wait(chrome, "location.hash.startsWith('#/model/fraud')")
    assert "range=6h" in chrome.execute_script("return location.hash")
    wait(chrome, "document.querySelectorAll('.stream-charts').length === 4")
    # a custom range: the picker writes it into the URL and the view keeps it
    chrome.execute_script(
        "document.getElementById('range').value = 'custom';"
        "document.getElementById('range').dispatchEvent(new Event('change'));"
        "document.getElementById('from').value = arguments[0];"
        "document.getElementById('to').value = arguments[1];",
        (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
    )
    chrome.find_element(By.ID, "apply").click()
    wait(chrome, "location.hash.includes('range=custom') && location.hash.includes('from=')")
    # the 6 h charts (72 points) stay until the custom range's render replaces them: wait for
    # 3 h of 5-minute windows (read in one script, so no element goes stale in between); the
    # wait fails the test if the charts never show them
    points = wait(
        chrome,
        "(() => { const c = document.querySelector('.chart');"
        " const n = c && Number(c.dataset.points); return n >= 30 && n <= 37 ? n : null; })()",
    )
    assert 30 <= int(points) <= 37


def test_model_page_draws_scores_with_limits_and_drift_windows(chrome, base_url, shots):
    open_view(chrome, base_url, "#/model/fraud")
    cards = chrome.find_elements(By.CSS_SELECTOR, ".stream-charts")
    # drifting streams first, each with KL and cosine charts holding data
    streams = [c.get_attribute("data-stream") for c in cards]
    assert streams[:2] == ["input.country", "input.feature1"]
    charts = chrome.find_elements(By.CSS_SELECTOR, ".stream-charts .chart")
    metrics = [c.get_attribute("data-metric") for c in charts]
    assert metrics[:2] == ["kl_divergence", "cosine_similarity"] and len(metrics) == 8
    assert all(int(c.get_attribute("data-points")) > 200 for c in charts)
    assert painted(chrome, ".stream-charts .chart canvas") > 1_000
    latest = {
        r.get_attribute("data-stream"): r.text
        for r in chrome.find_elements(By.CSS_SELECTOR, "#latest tbody tr")
    }
    assert "drift" in latest["input.feature1"] and "3.20" in latest["input.feature1"]
    chrome.save_screenshot(str(shots / "model.png"))
    # another metric: its charts appear and the choice is in the URL
    chrome.find_element(By.CSS_SELECTOR, ".metric-picker input[value=psi]").click()
    wait(chrome, "document.querySelectorAll('.chart[data-metric=psi]').length === 4")
    assert "metrics=kl_divergence%2Ccosine_similarity%2Cpsi" in chrome.current_url


def test_stream_view_lists_the_bins_that_moved_most(chrome, base_url, shots, dashboard_api):
    open_view(chrome, base_url, "#/stream/fraud/input.country")
    labels = [
        r.get_attribute("data-label")
        for r in chrome.find_elements(By.CSS_SELECTOR, "#moved tbody tr")
    ]
    assert labels[:3] == ["DE", "US", "FR"]
    first = chrome.find_element(By.CSS_SELECTOR, "#moved tbody tr").text
    assert "30.0 %" in first and "50.0 %" in first and "+20.0 pp" in first
    assert chrome.find_element(By.ID, "bars").get_attribute("data-bins") == "5"
    assert painted(chrome, "#bars canvas") > 1_000
    text = chrome.find_element(By.ID, "view").text
    assert "recent 3600 · baseline 86400" in text and "DE 30.0 % → 50.0 %" in text
    assert chrome.find_element(By.ID, "baseline-mode").text == "rolling"
    chrome.save_screenshot(str(shots / "stream.png"))
    # an earlier window (a heatmap cell links there): nothing had moved yet
    [(first,)] = sql(dashboard_api.dsn, "SELECT min(window_end) FROM drift_runs")
    early = (first + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    open_view(chrome, base_url, f"#/stream/fraud/input.country?at={early}")
    assert "No bin moved" in chrome.find_element(By.ID, "explanation").text


def test_pin_button_sends_the_request_and_accept_degrades(chrome, base_url, dashboard_api):
    open_view(chrome, base_url, "#/stream/fraud/input.feature1")
    chrome.find_element(By.ID, "pin").click()
    wait(chrome, "document.getElementById('action-result').textContent.includes('accepted')")
    assert sql(dashboard_api.dsn, "SELECT baseline_mode FROM models WHERE model_id = 'fraud'") == [
        ("pinned",)
    ]
    [msg] = consume(dashboard_api.settings.kafka_bootstrap, dashboard_api.topics.control, 1)
    assert msg.key() == b"fraud" and json.loads(msg.value())["action"] == "pin_baseline"
    wait(chrome, "document.getElementById('baseline-mode').textContent === 'pinned'")
    assert "accepted" in chrome.find_element(By.ID, "action-result").text  # kept over the redraw
    # accept as new normal: POST /models/{id}/accept with {stream, by}; an API without that
    # route answers 404/405 and the button says it is not supported
    chrome.execute_script(RECORD_FETCH)
    chrome.find_element(By.ID, "by").send_keys("ana")
    chrome.find_element(By.ID, "accept").click()
    wait(
        chrome,
        "/^Accept as new normal(: accepted| failed|: not supported)/"
        ".test(document.getElementById('action-result').textContent)",
    )
    calls = chrome.execute_script("return window.sent")
    sent = [(url, method, json.loads(body)) for url, method, body in calls if "accept" in url]
    assert sent == [("/models/fraud/accept", "POST", {"stream": "input.feature1", "by": "ana"})]
    status = dashboard_api.client.post("/models/fraud/accept", json={}).status_code
    if status in (404, 405):
        assert "not supported" in chrome.find_element(By.ID, "action-result").text
    chrome.find_element(By.ID, "unpin").click()
    wait(chrome, "document.getElementById('baseline-mode').textContent === 'rolling'")


def test_overview_refreshes_itself_asking_only_for_new_runs(chrome, base_url, dashboard_api):
    open_view(chrome, base_url, "#/")
    loaded = chrome.find_element(By.ID, "view").get_attribute("data-loaded")
    [(last,)] = sql(dashboard_api.dsn, "SELECT max(window_end) FROM drift_runs")
    row = dashboard_data.run("fraud", "input.feature1", last, dashboard_data.WINDOWS - 1)
    insert(dashboard_api.dsn, "drift_runs", [{**row, "stream": "input.extra"}])
    # the 15 s timer redraws the view with the new stream
    wait(chrome, f"document.getElementById('view').dataset.loaded !== '{loaded}'", timeout=30)
    wait(chrome, "document.querySelector('#heatmap canvas').dataset.rows === '9'")
    asked = chrome.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(u => u.includes('/drift/history'))"
    )
    first, refresh = (parse_qs(urlsplit(u).query)["from"][0] for u in (asked[0], asked[-1]))
    held_from = datetime.fromisoformat(refresh.replace("Z", "+00:00"))
    assert held_from >= last - timedelta(minutes=15)  # not the whole range again
    assert datetime.fromisoformat(first.replace("Z", "+00:00")) < last - timedelta(hours=23)


def test_model_page_shows_realised_and_estimated_performance(chrome, base_url, shots):
    open_view(chrome, base_url, "#/model/fraud")
    card = chrome.find_element(By.ID, "performance")
    assert card.get_attribute("data-windows") == "24"
    chart = chrome.find_element(By.ID, "performance-chart")
    assert chart.get_attribute("data-task") == "classification"
    assert chart.get_attribute("data-points") == "24"
    assert painted(chrome, "#performance-chart canvas") > 1_000
    legend = chart.text.lower()  # the legend is upper-cased by the style sheet
    for label in ("accuracy (realised)", "accuracy (estimated, no labels)", "labelled share"):
        assert label in legend
    newest = chrome.find_element(By.ID, "performance-latest").text
    assert "72.0 %" in newest and "90.0 %" in newest  # realised fell, the estimate did not
    assert "250 of 1000 (25.0 %)" in newest
    chrome.save_screenshot(str(shots / "model-performance.png"))
    assert console_errors(chrome) == []
    # a model without labels says how to send them
    open_view(chrome, base_url, "#/model/churn")
    card = chrome.find_element(By.ID, "performance")
    assert card.get_attribute("data-windows") == "0" and "log_label" in card.text
