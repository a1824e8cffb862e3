"""The inference event: its typed form, the limits on its size, and the rejection error.

Exceptions: ``InvalidEvent(ValueError)`` is the only error of the event layer; ``reason`` is a
short snake_case code (a Prometheus label and a DLQ header), ``str(error)`` a precise message
naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class InvalidEvent(ValueError):
    """A record or event that cannot be accepted."""

    def __init__(
        self, reason: str, message: str, field: str | None = None, index: int | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.field = field
        self.index = index  # the item of an array record; None: the whole record

    def at(self, index: int) -> InvalidEvent:
        """The same error located at item ``index`` of an array record."""
        field = f"[{index}].{self.field}" if self.field else f"[{index}]"
        return InvalidEvent(self.reason, f"event [{index}]: {self}", field, index)


@dataclass(frozen=True, slots=True)
class InferenceEvent:
    event_id: str
    model_id: str
    timestamp: float | None  # epoch seconds; None: the caller assigns the ingest time
    input_data: dict[str, Any]
    prediction: Any
    confidence: float | None
    metadata: dict[str, Any]
    embeddings: dict[str, list[float]] = field(default_factory=dict)  # name -> vector


@dataclass(frozen=True, slots=True)
class EventLimits:
    max_record_bytes: int = 1_000_000
    max_events_per_record: int = 10_000
    max_features: int = 200
    max_string_len: int = 256
    max_name_len: int = 128
    max_depth: int = 4
    # nesting of metadata objects and arrays (checked iteratively); the API's DRIFT_MAX_JSON_DEPTH
    # default (64, counted from the event object) so the API never accepts what the worker refuses
    max_metadata_depth: int = 64
    max_prediction_fields: int = 20
    max_id_len: int = 64
    max_timestamp: float = 10_000_000_000.0  # year 2286: larger values are milliseconds
    max_embeddings: int = 4  # named vectors per event (``drift.embeddings``)
    max_embedding_dims: int = 1024
    max_embedding_abs: float = 100.0  # at most drift.vectors.MAX_ABS (fixed-point capacity)


@dataclass(frozen=True, slots=True)
class DecodedRecord:
    """Events of one record; for arrays, per-item errors beside the valid events."""

    events: list[InferenceEvent]
    errors: list[InvalidEvent]


def event_to_json(event: InferenceEvent) -> dict[str, Any]:
    """Canonical JSON-ready form (timestamp as epoch seconds or None; ``embeddings`` only
    when the event has some)."""
    out = {
        "event_id": event.event_id,
        "model_id": event.model_id,
        "timestamp": event.timestamp,
        "input_data": event.input_data,
        "prediction": event.prediction,
        "confidence": event.confidence,
        "metadata": event.metadata,
    }
    if event.embeddings:
        out["embeddings"] = event.embeddings
    return out
