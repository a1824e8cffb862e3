"""Every exception the producer SDK and the generator raise, in one place.

Hierarchy::

    DriftError                      base of everything raised here
    ├── InvalidInference (ValueError)   log() was given something that is not an inference
    ├── BrokerUnavailable           the Kafka bootstrap servers did not answer in time
    ├── UnknownTopic                the broker answers but the topic does not exist
    ├── DeliveryError               inferences the broker never acknowledged (lost)
    ├── FlushTimeout                flush() ran out of time while the broker still answers
    └── IngestError                 the HTTP ingest API refused or failed a request
        ├── IngestUnavailable       ...because it (or its broker or database) is unreachable:
        │                              retry later (``retry_after`` from the answer)
        └── ModelQuotaExceeded      ...because a new model id was not admitted (429): the API
                                       key's or the global model quota is full

Catch ``DriftError`` to handle every SDK failure at once; catch ``DeliveryError`` to learn how
many inferences were lost (``.lost``) and why (``.reasons``).
"""

from __future__ import annotations

from collections.abc import Sequence


class DriftError(Exception):
    """Base class of every error raised by the producer SDK."""


class InvalidInference(DriftError, ValueError):
    """An argument of ``log()`` cannot form a valid inference event (names the field)."""


class BrokerUnavailable(DriftError):
    """The Kafka bootstrap servers did not answer a bounded metadata request."""

    def __init__(self, bootstrap_servers: str, detail: str = "", pending: int = 0) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.pending = pending
        message = f"Kafka broker unavailable at {bootstrap_servers!r}"
        if pending:
            message += f"; {pending} inference(s) still waiting for delivery"
        if detail:
            message += f": {detail}"
        super().__init__(message)


class UnknownTopic(DriftError):
    """The broker answers, but the topic does not exist (and is not auto-created)."""

    def __init__(self, topic: str, bootstrap_servers: str) -> None:
        self.topic = topic
        super().__init__(f"topic {topic!r} does not exist on {bootstrap_servers!r}")


class DeliveryError(DriftError):
    """Some inferences were never acknowledged by the broker: they are lost."""

    def __init__(self, lost: int, reasons: Sequence[str] = ()) -> None:
        self.lost = lost
        self.reasons = tuple(reasons)
        shown = "; ".join(sorted(set(self.reasons))[:3])
        super().__init__(
            f"{lost} inference(s) were not delivered" + (f": {shown}" if shown else "")
        )


class FlushTimeout(DriftError):
    """``flush()`` ran out of time with inferences pending, although the broker answers."""

    def __init__(self, pending: int, timeout: float) -> None:
        self.pending = pending
        super().__init__(f"{pending} inference(s) still pending after flush({timeout:g})")


class IngestError(DriftError):
    """The HTTP ingest API answered with an error (``status`` 0 when it never answered)."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after  # seconds, from a Retry-After header
        super().__init__(f"ingest API error {status}: {message}" if status else message)


class IngestUnavailable(IngestError):
    """The ingest API (or the Kafka broker behind it) is unreachable; the request may be retried."""


class ModelQuotaExceeded(IngestError):
    """A new model id was not admitted (429): the message names the limit that is full."""
