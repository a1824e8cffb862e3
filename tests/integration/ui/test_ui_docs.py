"""/docs (Swagger UI) and /redoc render in a browser without internet (assets from the API)."""

from __future__ import annotations

import pytest

from tests.integration.ui.browser import console_errors, foreign_requests, wait

pytestmark = pytest.mark.integration
# ReDoc's sidebar shows Redocly's logo from its CDN and drops the image when that fails
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def test_swagger_ui_lists_the_operations_offline(chrome, base_url, shots):
    chrome.get(f"{base_url}/docs")
    count = wait(chrome, "document.querySelectorAll('.opblock').length")
    summaries = chrome.execute_script(
        "return [...document.querySelectorAll('.opblock-summary-path')].map(e => e.textContent)"
    )
    assert count >= 10 and "/drift/history" in " ".join(summaries)
    assert foreign_requests(chrome, base_url) == []
    chrome.save_screenshot(str(shots / "docs.png"))


def test_redoc_renders_offline(chrome, base_url, shots):
    chrome.get(f"{base_url}/redoc")
    wait(chrome, "document.querySelector('.api-content h1') !== null")
    title = chrome.execute_script("return document.querySelector('.api-content h1').textContent")
    operations = wait(
        chrome, "document.querySelectorAll('[data-section-id^=\"operation/\"]').length"
    )
    assert title.startswith("AI Drift Monitor API") and operations >= 10
    assert set(foreign_requests(chrome, base_url)) <= {REDOC_LOGO}
    assert [e for e in console_errors(chrome) if REDOC_LOGO not in e] == []
    assert (
        chrome.execute_script("return document.querySelector('img[alt=\"redocly logo\"]')") is None
    )
    chrome.save_screenshot(str(shots / "redoc.png"))
