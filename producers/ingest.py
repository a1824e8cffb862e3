"""``HttpDriftClient``: the same ``log()`` as ``DriftClient``, over the API's HTTP ingest shim.

For applications that cannot reach Kafka. Inferences are buffered (per model, like the Kafka
client) and sent with ``POST /inference/batch`` (a columnar record of one model's inferences,
its columns of numbers binary unless ``binary=False``; with ``columnar=False`` a JSON array)
when ``batch_size`` are waiting, when the oldest waited ``max_delay`` seconds (checked on
each ``log()``; there is no timer thread), and on ``flush()``/``close()``; ``batch_size=1``
posts each one to ``POST /inference``. The API answers 202 once the broker acknowledged, so a
returned ``flush()`` means the inferences are stored in Kafka. Needs httpx.

The API key is ``api_key`` or, when not given, the ``DRIFT_API_KEY`` environment variable; the
API refuses writes without one unless it runs with ``DRIFT_INSECURE_LOCAL=1``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

from producers import records
from producers.buffer import ModelBuffers
from producers.errors import IngestError, IngestUnavailable, ModelQuotaExceeded

API_KEY_HEADER = "X-API-Key"
API_KEY_ENV = "DRIFT_API_KEY"


class HttpDriftClient:
    """Log inferences through ``base_url`` (e.g. ``http://localhost:8000``)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        batch_size: int = 100,
        max_delay: float = 1.0,
        timeout: float = 10.0,
        transport: Any = None,
        columnar: bool = True,
        binary: bool = True,
    ) -> None:
        import httpx  # optional dependency of the SDK; creating a client opens no connection

        headers = {"Content-Type": "application/json"}
        api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        if api_key:
            headers[API_KEY_HEADER] = api_key
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )
        self._buffers = ModelBuffers(batch_size, max_delay)
        self._label_buffers = ModelBuffers(batch_size, max_delay)
        self.columnar = columnar
        self.binary = binary
        self.delivered = 0
        self.failed = 0
        self.labels_delivered = 0
        self.labels_failed = 0

    def log(
        self,
        model_id: records.ModelId,
        input_data: Mapping[str, Any],
        prediction: Any,
        confidence: float | None,
        timestamp: float | datetime | str | None = None,
        event_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        embeddings: Mapping[str, Any] | None = None,
    ) -> str:
        """Queue one inference; may send the batches that are due. Returns the event id."""
        event = records.build_event(
            model_id, input_data, prediction, confidence, timestamp, event_id, metadata, embeddings
        )
        key = records.model_key(model_id)
        batch = self._buffers.add(key, records.encode_event(event))
        due = self._buffers.take_stale()
        if batch is not None:
            due.append((key, batch))
        for model, events in due:
            self._post(model, events)
        return str(event["event_id"])

    def log_label(
        self,
        model_id: records.ModelId,
        event_id: str,
        label: str | float | bool,
        timestamp: float | datetime | str | None = None,
    ) -> None:
        """Queue the ground truth of inference ``event_id``; batches are posted to
        ``POST /labels/batch`` like the inferences (size, age, ``flush()``)."""
        key = records.model_key(model_id)
        encoded = records.encode_event(records.build_label(model_id, event_id, label, timestamp))
        batch = self._label_buffers.add(key, encoded)
        due = self._label_buffers.take_stale()
        if batch is not None:
            due.append((key, batch))
        for _, labels in due:
            self._post_labels(labels)

    def flush(self) -> None:
        """Send every buffered inference and label; raises IngestError if the API refused
        some."""
        for model, events in self._buffers.take_all():
            self._post(model, events)
        for _, labels in self._label_buffers.take_all():
            self._post_labels(labels)

    def close(self) -> None:
        """Flush, then close the HTTP connection pool."""
        try:
            self.flush()
        finally:
            self._http.close()

    def __enter__(self) -> HttpDriftClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _post_labels(self, labels: list[bytes]) -> None:
        """One ``POST /labels/batch``; a 207 counts the accepted and raises for the rest."""
        response = self._request("/labels/batch", records.join_record(labels), len(labels), True)
        body = response.json()
        self.labels_delivered += int(body.get("accepted", 0))
        if response.status_code == 207:
            self.labels_failed += int(body.get("rejected", 0))
            reasons = sorted({e.get("reason", "?") for e in body.get("errors", [])})
            raise IngestError(207, f"/labels/batch: {body.get('rejected')} refused: {reasons}")

    def _request(self, path: str, body: bytes, n: int, labels: bool = False) -> Any:
        import httpx

        try:
            response = self._http.post(path, content=body)
        except httpx.TransportError as exc:
            self._failed(n, labels)
            raise IngestUnavailable(0, f"cannot reach {self.base_url}{path}: {exc}") from exc
        if response.status_code >= 400:
            self._failed(n, labels)
            error = {503: IngestUnavailable, 429: ModelQuotaExceeded}.get(
                response.status_code, IngestError
            )
            retry = response.headers.get("retry-after", "")
            raise error(
                response.status_code,
                f"{path}: {response.text[:500]}",
                float(retry) if retry.isdigit() else None,
            )
        return response

    def _failed(self, n: int, labels: bool) -> None:
        if labels:
            self.labels_failed += n
        else:
            self.failed += n

    def _post(self, key: str, events: list[Any]) -> None:
        single = self._buffers.batch_size == 1 and len(events) == 1
        if single:
            path, body = "/inference", events[0]
        elif self.columnar:
            rows = [records.snapshot(e) for e in events]
            path, body = "/inference/batch", records.encode_columnar(key, rows, self.binary)
        else:
            path, body = "/inference/batch", records.join_record(events)
        self._request(path, body, len(events))
        self.delivered += len(events)
