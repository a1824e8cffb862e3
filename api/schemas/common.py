"""The error body, paging envelope and the documented error responses of every route."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable error code", examples=["invalid_event"])
    message: str = Field(description="what went wrong", examples=["confidence: must be in [0, 1]"])
    field: str | None = Field(default=None, description="the offending field, when there is one")


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"error": {"code": "not_found", "message": "model 'x' not found"}}]
        }
    )
    error: ErrorDetail


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for ``codes``, all with the common error body."""
    text = {
        400: "Bad request",
        401: "Missing or invalid API key",
        404: "Not found",
        403: "Origin not allowed (browser write from a foreign page)",
        413: "Body too large",
        415: "The body must be application/json",
        422: "Invalid input (the message names the field)",
        429: "Model admission quota reached (the message names the limit)",
        500: "Internal error",
        503: "Kafka or PostgreSQL unreachable or hung (Retry-After)",
    }
    return {c: {"model": ErrorBody, "description": text[c]} for c in codes}


class Page(BaseModel):
    next_cursor: str | None = Field(
        default=None, description="opaque cursor of the next page; null on the last page"
    )
