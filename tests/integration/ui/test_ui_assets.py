"""What the API serves for the dashboard: content types, cache headers, the redirect."""

from __future__ import annotations

import re

import pytest

from api.ui.assets import IMMUTABLE

pytestmark = pytest.mark.integration


def test_pages_revalidate_and_vendored_assets_are_immutable(dashboard_api):
    client = dashboard_api.client
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/ui"
    for page in ("/ui", "/docs", "/redoc"):
        resp = client.get(page)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
        assert resp.headers["cache-control"] == "no-cache"
    html = client.get("/ui").text
    assets = re.findall(r'(?:src|href)="(/ui/static/[^"]+)"', html)
    assert len(assets) == 5
    types = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
    for url in assets:
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert resp.headers["content-type"].startswith(types[url[url.rindex(".") :]]), url
        expected = IMMUTABLE if "/vendor/" in url else "no-cache"
        assert resp.headers["cache-control"] == expected and resp.headers["etag"], url
    # a revalidation of an own asset is answered 304
    app = client.get("/ui/static/app.js")
    again = client.get("/ui/static/app.js", headers={"If-None-Match": app.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/ui/static/nope.js").status_code == 404
    # one metrics series for the static files, not one per file nor <unmatched>
    labels = {"method": "GET", "route": "/ui/static", "status": "200"}
    assert dashboard_api.registry.get_sample_value("drift_api_requests_total", labels) >= 5


def test_distribution_endpoint_ranks_moves_and_needs_the_api_key_like_the_rest(dashboard_api):
    client = dashboard_api.client
    body = client.get(
        "/ui/api/models/fraud/distribution", params={"stream": "input.country"}
    ).json()
    assert [m["label"] for m in body["moved"][:2]] == ["DE", "US"]
    assert body["bins"]["labels"] == ["DE", "FR", "US", "GB", "other"]
    assert body["kl_divergence"] == pytest.approx(0.32)
    missing = client.get("/ui/api/models/fraud/distribution", params={"stream": "nope"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    config = client.get("/ui/api/config").json()
    assert config["thresholds"]["cosine_similarity"] == 0.9
    assert config["directions"]["cosine_similarity"] == "below"
