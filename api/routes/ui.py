"""The offline docs (/docs, /redoc): FastAPI's pages with the vendored Swagger UI and ReDoc."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from api.ui.assets import REVALIDATE, STATIC_DIR, STATIC_URL, CachedStatic, vendor_url

router = APIRouter(include_in_schema=False)
NO_CACHE = {"Cache-Control": REVALIDATE}


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


def install(app: FastAPI) -> None:
    """Serve the docs and their assets (create the app with docs_url=None)."""
    app.include_router(router)
    app.mount(STATIC_URL, CachedStatic(directory=STATIC_DIR), name="ui-static")
