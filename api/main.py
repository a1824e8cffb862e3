"""The application factory: wires settings, pools, producer, metrics, routers and error handlers.

Nothing connects at import time; ``create_app(settings)`` builds the clients and the lifespan
opens them (migrations first, unless disabled) and closes them on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from prometheus_client import CollectorRegistry

from api.admission import Admissions
from api.core.config import Settings
from api.core.db import Pools
from api.core.errors import install_handlers
from api.core.guards import RequestGuard
from api.core.metrics import ApiMetrics, IngestMeter, MetricsMiddleware
from api.core.producer import EventProducer, producer_config
from api.core.security import require_api_key, require_writer
from api.deps import AppContext
from api.routes import (
    alertmanager,
    alerts,
    drift,
    inference,
    labels,
    models,
    performance,
    system,
    ui,
)
from api.rules import EventRules
from drift.events import EventLimits
from drift.topics import Topics
from sql.migrations import migrate

log = logging.getLogger(__name__)

DESCRIPTION = """Ingest shim and query API of the AI Drift Monitor.

* `POST /inference` publishes an inference to Kafka and answers 202 once it is stored.
* The query endpoints read drift results, alerts and models from PostgreSQL.
* With `DRIFT_API_KEYS` set, every endpoint except /healthz and /metrics needs `X-API-Key`
  (or `Authorization: Bearer <key>`); without keys, writes answer 401 unless
  `DRIFT_INSECURE_LOCAL=1`.
* Writes need a JSON body (415) and, from a browser, an allowed Origin (403); the Host header
  must be one of `DRIFT_ALLOWED_HOSTS` (400).
* Every 4xx/5xx answer has the body `{"error": {"code", "message", "field"?}}`.
"""


def build_context(settings: Settings, registry: CollectorRegistry) -> AppContext:
    """The clients of one app instance, built but not connected."""
    config = producer_config(
        settings.kafka_bootstrap, settings.kafka_delivery_timeout_ms, settings.kafka_linger_ms
    )
    limits = EventLimits(
        max_embeddings=settings.max_embeddings,
        max_embedding_dims=settings.max_embedding_dims,
        max_embedding_abs=settings.max_embedding_abs,
    )
    return AppContext(
        settings=settings,
        topics=Topics(settings.topic_prefix),
        pools=Pools.from_settings(settings),
        producer=EventProducer(config, settings.kafka_probe_interval_s),
        metrics=ApiMetrics(registry),
        meter=IngestMeter(),
        limits=limits,
        rules=EventRules(
            max_depth=settings.max_json_depth,
            max_future_s=settings.max_future_seconds,
            max_age_s=settings.max_event_age_seconds,
            limits=limits,
        ),
        admissions=Admissions(
            per_key=settings.models_per_key,
            total=settings.max_models,
            idle_s=settings.model_idle_evict_seconds,
            touch_s=settings.admission_touch_seconds,
        ),
    )


def create_app(
    settings: Settings | None = None, registry: CollectorRegistry | None = None
) -> FastAPI:
    """The FastAPI app for ``settings`` (default: from the environment)."""
    settings = settings or Settings()
    ctx = build_context(settings, registry or CollectorRegistry())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_migrations:
            applied = await asyncio.to_thread(migrate, settings.database_url)
            log.info("migrations applied: %s", applied or "none (up to date)")
        if not settings.api_key_set and not settings.insecure_local:
            log.warning(
                "no DRIFT_API_KEYS set: writes are refused (401); set keys, or "
                "DRIFT_INSECURE_LOCAL=1 for a local run"
            )
        ctx.producer.start()
        await ctx.pools.open()
        try:
            yield
        finally:
            await ctx.pools.close()
            await ctx.producer.close()

    app = FastAPI(
        title="AI Drift Monitor API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,  # served by api/routes/ui.py with local assets
    )
    app.state.ctx = ctx
    install_handlers(app)
    app.add_middleware(RequestGuard, settings=settings)
    app.add_middleware(MetricsMiddleware, metrics=ctx.metrics)
    # outermost: answers of 1 KB or more are gzipped for clients that accept it (the
    # dashboard's first /drift/history reads are JSON of a few MB)
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=5)
    for router in (inference, labels, alertmanager):
        app.include_router(router.router, dependencies=[Depends(require_writer)])
    for router in (drift, alerts, models, performance):  # models' writes add require_writer
        app.include_router(router.router, dependencies=[Depends(require_api_key)])
    app.include_router(system.router)
    ui.install(app)
    return app
