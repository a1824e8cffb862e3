"""Static assets of the dashboard and the docs, with their cache headers.

Vendored files live under ``static/vendor/<name>-<version>/`` (recorded in VERSIONS.md), so a
new version is a new URL: they are cached for a year and marked immutable. The dashboard's own
files and the HTML pages are revalidated on every load (``no-cache`` plus an ETag).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL = "/ui/static"
VENDOR = {
    "uplot": "vendor/uplot-1.6.32",
    "swagger-ui": "vendor/swagger-ui-5.35.0",
    "redoc": "vendor/redoc-2.5.4",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def cache_control(path: str) -> str:
    """The Cache-Control of the static file at ``path`` (relative to the static folder)."""
    return IMMUTABLE if path.startswith("vendor/") else REVALIDATE


def vendor_url(name: str, file: str) -> str:
    """The URL of a vendored file, e.g. ``vendor_url("redoc", "redoc.standalone.js")``."""
    return f"{STATIC_URL}/{VENDOR[name]}/{file}"


@dataclass(frozen=True)
class MountedRoute:
    """What the API metrics read as the route of a request (``scope["route"].path``)."""

    path: str


class CachedStatic(StaticFiles):
    """StaticFiles that sets Cache-Control per file (see ``cache_control``) and labels its
    requests with the mount path in the API metrics (one series, not ``<unmatched>``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = MountedRoute(STATIC_URL)
        await super().__call__(scope, receive, send)

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        relative = Path(full_path).resolve().relative_to(STATIC_DIR.resolve()).as_posix()
        response.headers["Cache-Control"] = cache_control(relative)
        return response
