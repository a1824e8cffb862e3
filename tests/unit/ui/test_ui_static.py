"""The static files: every asset the pages name exists, vendored ones are recorded with a
license, and cache headers follow the path."""

from __future__ import annotations

import re

import pytest

from api.ui.assets import IMMUTABLE, REVALIDATE, STATIC_DIR, VENDOR, cache_control, vendor_url

pytestmark = pytest.mark.unit


def test_cache_control_by_path():
    assert cache_control("vendor/uplot-1.6.32/uPlot.iife.min.js") == IMMUTABLE
    assert cache_control("app.js") == REVALIDATE


def test_every_asset_named_by_the_page_exists():
    html = (STATIC_DIR / "index.html").read_text()
    for url in re.findall(r'(?:src|href)="/ui/static/([^"]+)"', html):
        assert (STATIC_DIR / url).is_file(), url
    modules = "".join(p.read_text() for p in STATIC_DIR.glob("*.js"))
    for name in re.findall(r'from "\./([^"]+)"', modules):
        assert (STATIC_DIR / name).is_file(), name


def test_vendored_folders_are_versioned_licensed_and_recorded():
    versions = (STATIC_DIR / "vendor" / "VERSIONS.md").read_text()
    for folder in VENDOR.values():
        path = STATIC_DIR / folder
        assert (path / "LICENSE").is_file(), folder
        assert re.search(r"-\d+\.\d+\.\d+$", folder), folder
        assert f"`{path.name}/`" in versions, folder
    assert vendor_url("redoc", "redoc.standalone.js").endswith("/redoc-2.5.4/redoc.standalone.js")


def test_no_page_or_script_loads_from_another_host():
    for path in [*STATIC_DIR.glob("*.js"), *STATIC_DIR.glob("*.html"), *STATIC_DIR.glob("*.css")]:
        assert not re.search(r"https?://", path.read_text()), path.name
