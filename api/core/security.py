"""Optional API keys: header ``X-API-Key``, accepted keys from ``DRIFT_API_KEYS``.

Off when no key is configured (local runs). /healthz and /metrics never require a key, so
probes and Prometheus keep working.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from api.core.errors import ApiError

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="required when DRIFT_API_KEYS is set"
)


def key_accepted(given: str | None, accepted: frozenset[str]) -> bool:
    """Whether ``given`` is one of ``accepted`` (constant-time comparison per key)."""
    if not accepted:
        return True
    if not given:
        return False
    return any(hmac.compare_digest(given.encode(), key.encode()) for key in accepted)


async def require_api_key(
    request: Request, key: Annotated[str | None, Security(api_key_header)]
) -> None:
    """Router dependency: 401 unless authentication is off or the key is accepted."""
    if not key_accepted(key, request.app.state.ctx.settings.api_key_set):
        raise ApiError(401, "unauthorized", "missing or invalid X-API-Key header")
