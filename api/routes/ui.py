"""The dashboard (/ui, / redirects there), its data endpoint, and the offline docs (/docs, /redoc).

Pages and assets need no API key (they hold no data); the dashboard's JavaScript sends the key
the user entered with every data request, and ``/ui/api/*`` checks it like every query route.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

from api.core.encoding import FastJSON
from api.core.errors import NotFound
from api.core.security import require_api_key
from api.deps import ReaderDep
from api.params import NO_NUL, ModelIdPath
from api.ui import queries
from api.ui.assets import REVALIDATE, STATIC_DIR, STATIC_URL, CachedStatic, vendor_url
from api.ui.distribution import distribution
from drift.policy import DEFAULT_THRESHOLDS, Thresholds

router = APIRouter(include_in_schema=False)
data = APIRouter(prefix="/ui/api", include_in_schema=False, dependencies=[Depends(require_api_key)])
NO_CACHE = {"Cache-Control": REVALIDATE}


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/ui", status_code=307)


@router.get("/ui")
async def dashboard() -> FileResponse:
    """The single page; its state (view, model, stream, time range) lives in the URL hash."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=NO_CACHE)


@router.get("/docs")
async def swagger(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title="AI Drift Monitor API – Swagger UI",
        swagger_js_url=vendor_url("swagger-ui", "swagger-ui-bundle.js"),
        swagger_css_url=vendor_url("swagger-ui", "swagger-ui.css"),
        swagger_favicon_url=vendor_url("swagger-ui", "favicon-32x32.png"),
    )
    page.headers.update(NO_CACHE)
    return page


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    page = get_redoc_html(
        openapi_url=request.app.openapi_url,
        title="AI Drift Monitor API – ReDoc",
        redoc_js_url=vendor_url("redoc", "redoc.standalone.js"),
        redoc_favicon_url=vendor_url("swagger-ui", "favicon-32x32.png"),
        with_google_fonts=False,
    )
    page.headers.update(NO_CACHE)
    return page


def limits_config(defaults: Thresholds = DEFAULT_THRESHOLDS) -> dict[str, Any]:
    """The fixed limits the worker applies when a model sets none, and each one's direction."""
    return {
        "thresholds": {m: defaults.limit(m) for m in Thresholds.DIRECTIONS},
        "directions": dict(Thresholds.DIRECTIONS),
    }


@data.get("/config")
async def config() -> JSONResponse:
    return JSONResponse(limits_config(), headers=NO_CACHE)


@data.get("/models/{model_id}/distribution")
async def stream_distribution(
    model_id: ModelIdPath,
    pool: ReaderDep,
    stream: Annotated[str, Query(max_length=256, pattern=NO_NUL)],
    at: Annotated[datetime | None, Query(description="newest run ending at or before")] = None,
) -> FastJSON:
    """The stored regrouped bins of a stream's newest run, and the bins that moved most."""
    run = await queries.stream_run(pool, model_id, stream, at)
    if run is None:
        raise NotFound(f"no drift run of {model_id!r} / {stream!r}")
    return FastJSON(distribution(run))


def install(app: FastAPI) -> None:
    """Serve the dashboard, its assets and the docs (create the app with docs_url=None)."""
    app.include_router(router)
    app.include_router(data)
    app.mount(STATIC_URL, CachedStatic(directory=STATIC_DIR), name="ui-static")
