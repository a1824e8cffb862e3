"""With DRIFT_API_KEYS set the dashboard asks for a key and sends it as X-API-Key."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from selenium.webdriver.common.by import By

from drift.topics import Topics
from sql.migrations import migrate
from tests.integration.api.api_support import make_settings, running_api
from tests.integration.ui import dashboard_data
from tests.integration.ui.browser import wait

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def keyed_url(kafka, postgres) -> Iterator[str]:
    dsn = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")
    migrate(dsn)
    dashboard_data.seed(dsn, datetime.now(UTC))
    prefix = f"t{uuid.uuid4().hex[:8]}"
    kafka.create_topics(Topics(prefix).all(), partitions=1)
    with running_api(make_settings(kafka.bootstrap, dsn, prefix, api_keys="k-secret")) as api:
        yield str(api.client.base_url).rstrip("/")


def test_dashboard_asks_for_the_key_and_sends_it(chrome, keyed_url):
    chrome.get(f"{keyed_url}/ui")
    wait(chrome, "!document.getElementById('banner').hidden")
    assert "needs a key" in chrome.find_element(By.ID, "banner").text
    chrome.find_element(By.ID, "key").click()
    prompt = chrome.switch_to.alert
    prompt.send_keys("k-secret")
    prompt.accept()
    wait(chrome, "document.querySelectorAll('#models tbody tr[data-model]').length === 2")
    assert chrome.find_element(By.ID, "banner").get_attribute("hidden") is not None
    assert chrome.execute_script("return sessionStorage.getItem('driftmon.apiKey')") == "k-secret"
    # the pages themselves need no key, the data does
    chrome.get(f"{keyed_url}/ui#/model/fraud")
    wait(chrome, "document.querySelectorAll('.stream-charts').length === 4")
