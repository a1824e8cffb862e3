"""Ingest shim bodies: the inference event (as documented input) and the answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

EVENT_EXAMPLE: dict[str, Any] = {
    "model_id": 1,
    "input_data": {"feature1": 0.5, "feature2": 0.3},
    "prediction": {"class": "positive", "score": 0.92},
    "confidence": 0.92,
}


class InferenceEventIn(BaseModel):
    """One logged inference (the original payload); checked by ``drift.events.validate_event``."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [EVENT_EXAMPLE]})
    event_id: str | None = Field(default=None, description="≤ 64 chars; assigned when absent")
    model_id: int | str = Field(description="int, or a name matching [A-Za-z0-9._-]{1,64}")
    timestamp: str | float | None = Field(
        default=None, description="RFC 3339 or epoch s; default now"
    )
    input_data: dict[str, Any] = Field(description="features: numbers, strings, bools, objects")
    prediction: Any = Field(default=None, description='{"class", "score"}, or a bare number/string')
    confidence: float | None = Field(default=None, description="model confidence")
    metadata: dict[str, Any] | None = Field(default=None, description="stored, not monitored")
    embeddings: dict[str, list[float]] | None = Field(
        default=None,
        description='named vectors, e.g. {"text": [0.12, ...]}: monitored as embedding.<name>',
    )


class BatchIn(BaseModel):
    """A batch: this object, or a bare JSON array of events."""

    events: list[InferenceEventIn]


class Accepted(BaseModel):
    event_id: str = Field(examples=["0f1e2d3c4b5a69788796a5b4c3d2e1f0"])
    status: str = Field(default="accepted", examples=["accepted"])


class BatchItemError(BaseModel):
    index: int = Field(description="position of the event in the batch")
    reason: str = Field(description="reason code", examples=["invalid_event"])
    message: str = Field(description="what is wrong, naming the field")
    field: str | None = Field(default=None, description="the offending field, when known")


class BatchResult(BaseModel):
    """Per-item outcome: 202 when every event was accepted, 207 when some were rejected."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "accepted": 1,
                    "rejected": 1,
                    "event_ids": ["6c1d..."],
                    "errors": [
                        {
                            "index": 1,
                            "reason": "invalid_event",
                            "message": "confidence: must be a number",
                            "field": "confidence",
                        }
                    ],
                }
            ]
        }
    )
    accepted: int
    rejected: int
    event_ids: list[str] = Field(description="ids of the accepted events, in batch order")
    errors: list[BatchItemError]
