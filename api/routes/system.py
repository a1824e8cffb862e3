"""GET /stats, /healthz and /metrics."""

from __future__ import annotations

import asyncio

import orjson
from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api import queries
from api.core.errors import error_body
from api.core.security import require_api_key
from api.deps import AppContext, CtxDep, ReaderDep
from api.schemas.common import ErrorBody, errors
from api.schemas.stats import Check, Health, Stats

router = APIRouter(tags=["system"])


@router.get(
    "/stats",
    response_model=Stats,
    responses=errors(401, 503),
    dependencies=[Depends(require_api_key)],
    summary="Overview",
)
async def stats(pool: ReaderDep, ctx: CtxDep) -> Stats:
    """Counts of models, events, drift runs and open alerts, and this API's ingest rate."""
    row = await queries.stats(pool)
    return Stats.model_validate({**row, "ingest_rate_per_s": ctx.meter.rate()})


async def _check_kafka(ctx: AppContext) -> Check:
    try:
        meta = await asyncio.to_thread(ctx.producer.client.list_topics, None, 1.0)
    except Exception as exc:  # any client error means "not healthy"
        return Check(ok=False, detail=f"Kafka: {exc}")
    if ctx.topics.events not in meta.topics:
        return Check(ok=False, detail=f"topic {ctx.topics.events} does not exist")
    return Check(ok=True, detail=f"{len(meta.brokers)} broker(s)")


async def _check_pool(ctx: AppContext, reader: bool) -> Check:
    pool = ctx.pools.reader if reader else ctx.pools.writer
    try:
        await asyncio.wait_for(queries.ping(pool), 2.0)
    except Exception as exc:  # any failure means "not healthy"
        return Check(ok=False, detail=f"PostgreSQL: {type(exc).__name__}: {exc}")
    return Check(ok=True)


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": ErrorBody, "description": "a dependency is unhealthy"}},
    summary="Health of Kafka and PostgreSQL",
)
async def healthz(ctx: CtxDep) -> Health | Response:
    """200 when Kafka and both PostgreSQL pools answer; 503 with the failing checks otherwise."""
    kafka, writer, reader = await asyncio.gather(
        _check_kafka(ctx), _check_pool(ctx, False), _check_pool(ctx, True)
    )
    checks = {"kafka": kafka, "postgres_writer": writer, "postgres_reader": reader}
    if all(c.ok for c in checks.values()):
        return Health(status="ok", checks=checks)
    failing = "; ".join(f"{name}: {c.detail}" for name, c in checks.items() if not c.ok)
    body = error_body("unhealthy", failing)
    body["checks"] = {name: c.model_dump() for name, c in checks.items()}
    headers = {"Retry-After": str(ctx.settings.retry_after_s)}
    return Response(
        orjson.dumps(body), status_code=503, media_type="application/json", headers=headers
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}},
    summary="Prometheus metrics",
)
async def metrics(ctx: CtxDep) -> Response:
    """The API's metrics in the Prometheus text format."""
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
