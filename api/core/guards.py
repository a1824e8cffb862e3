"""Request guards in front of every route: Host, Origin, content type, and the docs' key.

* Host (DNS rebinding): the Host header must name one of ``DRIFT_ALLOWED_HOSTS`` (the bind host
  included) — 400 ``invalid_host`` otherwise.
* CSRF: a browser may post a "simple" request (``text/plain``, forms) from any page without a
  preflight. Write methods therefore need a JSON body (POST/PUT/PATCH with a body: 415
  ``unsupported_media_type``) and, when the request carries an Origin, the API's own origin or
  one of ``DRIFT_ALLOWED_ORIGINS`` (403 ``forbidden_origin``).
* Docs: /docs, /redoc and /openapi.json need a key when ``Settings.docs_open`` is false (401).

A pure ASGI middleware, so refused requests never reach a route (they are counted as
``<unmatched>`` by the metrics middleware outside it).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.core.config import Settings
from api.core.errors import error_body
from api.core.security import key_accepted, presented_key

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


def host_name(host: str) -> str:
    """The Host header without its port, lower case (``[::1]:8000`` → ``[::1]``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_json(content_type: str) -> bool:
    """``application/json`` or a ``+json`` type, parameters (charset) ignored."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    return bool(headers.get("transfer-encoding")) or (length is not None and length != "0")


def is_docs(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in DOCS_PATHS)


class RequestGuard:
    """Refuses bad Host headers, foreign Origins, non-JSON writes and keyless docs requests."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.settings = app, settings
        self.hosts = settings.host_set
        self.origins = settings.origin_set

    def problem(self, scope: Scope) -> tuple[int, str, str] | None:
        """(status, code, message) of a refused request, None when it may pass."""
        headers = Headers(scope=scope)
        host = host_name(headers.get("host", ""))
        if "*" not in self.hosts and host not in self.hosts:
            return 400, "invalid_host", f"Host {host!r} is not in DRIFT_ALLOWED_HOSTS"
        method = scope["method"]
        origin = headers.get("origin")
        if method in WRITE_METHODS and origin is not None:
            own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()
            if origin.rstrip("/").lower() not in self.origins | {own}:
                return 403, "forbidden_origin", f"Origin {origin!r} is not allowed"
        if (
            method in BODY_METHODS
            and has_body(headers)
            and not is_json(headers.get("content-type", ""))
        ):
            return 415, "unsupported_media_type", "the body must be application/json"
        if is_docs(scope["path"]) and not self.settings.docs_open:
            key = presented_key(headers.get("x-api-key"), headers.get("authorization"))
            if not key_accepted(key, self.settings.api_key_set):
                return 401, "unauthorized", "the docs need an API key (DRIFT_DOCS_PUBLIC=false)"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = self.problem(scope) if scope["type"] == "http" else None
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, code, message = refused
        field = {400: "Host", 403: "Origin", 415: "Content-Type"}.get(status)
        await JSONResponse(error_body(code, message, field), status_code=status)(
            scope, receive, send
        )
