"""Fixtures of the dashboard tests: one API per module on real Kafka and PostgreSQL, holding the
rows of dashboard_data, and one headless Chromium per module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from drift.topics import Topics
from sql.migrations import migrate
from tests.integration.api.api_support import Api, make_settings, running_api
from tests.integration.ui import browser, dashboard_data


@pytest.fixture(scope="module")
def dashboard_api(kafka, postgres) -> Iterator[Api]:
    dsn = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")
    migrate(dsn)
    dashboard_data.seed(dsn, datetime.now(UTC))
    prefix = f"t{uuid.uuid4().hex[:8]}"
    kafka.create_topics(Topics(prefix).all(), partitions=1)
    with running_api(make_settings(kafka.bootstrap, dsn, prefix)) as api:
        yield api


@pytest.fixture(scope="module")
def base_url(dashboard_api: Api) -> str:
    return str(dashboard_api.client.base_url).rstrip("/")


@pytest.fixture(scope="module")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    driver = browser.chrome(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests save their screenshots (printed at the end of each test)."""
    return tmp_path_factory.mktemp("screenshots")
