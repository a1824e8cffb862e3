"""API keys and who may write: header ``X-API-Key`` or ``Authorization: Bearer``.

* Keys set (``DRIFT_API_KEYS``): every endpoint but /healthz and /metrics needs one of them;
  the docs need one too unless ``DRIFT_DOCS_PUBLIC`` says otherwise.
* No keys: reads are open; writes (ingest, thresholds, baseline, webhook) are refused with 401
  unless ``DRIFT_INSECURE_LOCAL=1`` (local runs: ``driftmon stack``/demo and the tests set it).

The bearer form exists for Alertmanager, whose ``http_config.authorization`` sends
``Authorization: Bearer <credentials>`` and cannot set other headers. A key is identified by a
hash prefix (``key_id``) wherever it is stored, never by the key itself.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from api.core.errors import ApiError

LOCAL_KEY_ID = "local"

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="required when DRIFT_API_KEYS is set; `Authorization: Bearer <key>` is "
    "accepted too (Alertmanager's http_config.authorization)",
)
KeyHeader = Annotated[str | None, Security(api_key_header)]


def key_accepted(given: str | None, accepted: frozenset[str]) -> bool:
    """Whether ``given`` is one of ``accepted`` (constant-time comparison per key)."""
    if not accepted:
        return True
    if not given:
        return False
    return any(hmac.compare_digest(given.encode(), key.encode()) for key in accepted)


def presented_key(x_api_key: str | None, authorization: str | None) -> str | None:
    """The key a request presents: X-API-Key, else the credentials of a Bearer header."""
    if x_api_key:
        return x_api_key
    scheme, _, credentials = (authorization or "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


def key_id(key: str | None) -> str:
    """A stable, non-secret name of a key (quotas are kept per key id)."""
    if not key:
        return LOCAL_KEY_ID
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def request_key(request: Request) -> str | None:
    return presented_key(request.headers.get("x-api-key"), request.headers.get("authorization"))


def _unauthorized(message: str = "missing or invalid API key (X-API-Key or Bearer)") -> ApiError:
    return ApiError(401, "unauthorized", message)


async def require_api_key(request: Request, _key: KeyHeader) -> None:
    """Router dependency of reads: 401 unless no key is configured or the key is accepted."""
    if not key_accepted(request_key(request), request.app.state.ctx.settings.api_key_set):
        raise _unauthorized()


async def require_writer(request: Request, _key: KeyHeader) -> None:
    """Dependency of writes: a valid key, or no keys configured and insecure-local mode on."""
    settings = request.app.state.ctx.settings
    if settings.api_key_set:
        if not key_accepted(request_key(request), settings.api_key_set):
            raise _unauthorized()
    elif not settings.insecure_local:
        raise _unauthorized(
            "writes need an API key: set DRIFT_API_KEYS (or DRIFT_INSECURE_LOCAL=1 for a local run)"
        )
