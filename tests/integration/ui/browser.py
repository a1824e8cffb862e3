"""Headless Chromium (the Debian packages chromium + chromium-driver) driven by selenium, cut off
from everything but loopback: any request to another host fails, so a page that renders here
needs no internet."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,800",
    # no network but loopback: other names do not resolve, and any proxyable request fails
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
)


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).exists() or shutil.which(Path(path).name)):
            return f"{path} missing (scripts/setup.sh installs chromium and chromium-driver)"
    return None


def chrome(profile: Path) -> WebDriver:
    """A fresh headless Chromium with its own profile; fails under CI when it is not installed."""
    problem = _missing()
    if problem:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(problem)
        pytest.skip(problem)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    # the viewport itself 1280×800 (the window size counts the browser's own bars)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
    )
    return driver


def wait(driver: WebDriver, script: str, timeout: float = 20.0) -> object:
    """Wait until the JavaScript expression ``script`` is truthy; returns its value."""
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: d.execute_script(f"return {script}")
    )


def foreign_requests(driver: WebDriver, origin: str) -> list[str]:
    """Resources the page loaded from anywhere but ``origin``."""
    urls: list[str] = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return [u for u in urls if not u.startswith(origin)]


def console_errors(driver: WebDriver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
