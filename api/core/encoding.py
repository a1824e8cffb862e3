"""A JSON response rendered by orjson, for the list endpoints' large bodies.

Rows from PostgreSQL go straight to JSON (UTC datetimes as ``...Z``) instead of through pydantic
validation and serialisation; the routes still declare their ``response_model`` for OpenAPI,
and the schemathesis test checks that the bodies conform to it.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


class FastJSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=_OPTIONS)
