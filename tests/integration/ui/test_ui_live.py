"""The dashboard on results the worker computed: the live stack (worker, `driftmon api` process,
Prometheus, Alertmanager) fed calm data, then drifted data, looked at in headless Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By

from harness import KafkaBroker, PostgresServer
from tests.integration.live_stack import MODEL, STREAM, Feeder, LiveStack, live_stack, wait_verdict
from tests.integration.ui.browser import console_errors, foreign_requests, wait
from tests.integration.workers import query

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def drifting(
    kafka: KafkaBroker, postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveStack]:
    """The stack while the worker judges the model's feature drifted (x shifted by 3σ), with a
    stored run whose whole recent window is drifted data: the first drift verdict can come from
    a window that holds a few drifted events only, and its bins barely moved."""
    with live_stack(kafka, postgres, tmp_path_factory.mktemp("ui-live")) as stack:
        feeder = Feeder(stack.api.url)
        feeder.start()
        try:
            wait_verdict(stack, 0, 60)
            feeder.mode = "drifted"
            switched = time.time()
            wait_verdict(stack, 1, 60)
            stack.poll(
                lambda: query(
                    stack.dsn,
                    "SELECT 1 FROM drift_runs WHERE model_id = %s AND stream = %s"
                    " AND status = 'drift' AND window_start >= to_timestamp(%s)",
                    (MODEL, STREAM, switched + 1),
                ),
                60,
                "a stored drift run of drifted data only",
            )
            yield stack
        finally:
            feeder.stop()


def test_worker_results_on_overview_and_stream_view(chrome, drifting, shots):
    base = drifting.api.url
    chrome.get(f"{base}/ui#/?range=6h")
    wait(chrome, f"document.querySelector('#models tr[data-model=\"{MODEL}\"]')", timeout=30)
    row = chrome.find_element(By.CSS_SELECTOR, f'#models tr[data-model="{MODEL}"]')
    assert "drift" in row.text
    assert int(chrome.find_element(By.CSS_SELECTOR, "#heatmap canvas").get_attribute("data-cells"))
    chrome.save_screenshot(str(shots / "live-overview.png"))
    chrome.get("about:blank")
    chrome.get(f"{base}/ui#/stream/{MODEL}/{STREAM}")
    wait(chrome, "document.querySelectorAll('#moved tbody tr').length >= 5")
    changes = chrome.execute_script(
        "return [...document.querySelectorAll('#moved tbody tr td:nth-child(4)')]"
        ".map(td => parseFloat(td.textContent.replace('−', '-')))"
    )
    # the worker's bins, ranked: the largest move first, and a large one (x moved by 3σ)
    assert abs(changes[0]) >= 20 and sorted(changes, key=abs, reverse=True) == changes
    assert int(chrome.find_element(By.ID, "bars").get_attribute("data-bins")) >= 5
    assert foreign_requests(chrome, base) == [] and console_errors(chrome) == []
    chrome.save_screenshot(str(shots / "live-stream.png"))
