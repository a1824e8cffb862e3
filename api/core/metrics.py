"""API request metrics on a registry passed in, recorded by a pure ASGI middleware.

``route`` is the matched route template (``/models/{model_id}``), never the raw path, so the
series count stays bounded; unmatched requests are recorded as ``<unmatched>``.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "<unmatched>"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ApiMetrics:
    """The API's metric group (names are a contract: docs/architecture.md)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "drift_api_requests_total",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "drift_api_request_duration_seconds",
            "HTTP request duration",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self.ingested = Counter(
            "drift_api_ingested_events_total",
            "inference events acknowledged by Kafka",
            registry=registry,
        )
        self.labels = Counter(
            "drift_api_ingested_labels_total",
            "labels acknowledged by Kafka",
            registry=registry,
        )
        self.rejected_labels = Counter(
            "drift_api_rejected_labels_total",
            "labels refused by the API, per label, by reason code",
            ["reason"],
            registry=registry,
        )
        self.rejected = Counter(
            "drift_api_rejected_events_total",
            "inference events refused by the API, per event, by reason code",
            ["reason"],
            registry=registry,
        )


class MetricsMiddleware:
    """Counts and times every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.duration.labels(method, route).observe(time.perf_counter() - start)


class IngestMeter:
    """Events acknowledged per second by this process over the last ``span`` seconds."""

    def __init__(self, span: int = 60) -> None:
        self.span = span
        self._counts: dict[int, int] = {}

    def add(self, n: int, now: float | None = None) -> None:
        second = int(time.time() if now is None else now)
        self._counts[second] = self._counts.get(second, 0) + n
        if len(self._counts) > self.span * 2:
            for old in [s for s in self._counts if s <= second - self.span]:
                del self._counts[old]

    def rate(self, now: float | None = None) -> float:
        second = int(time.time() if now is None else now)
        total = sum(c for s, c in self._counts.items() if second - self.span < s <= second)
        return total / self.span
