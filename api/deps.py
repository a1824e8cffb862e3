"""Typed dependencies: the clients built in the lifespan, handed to the routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.admission import Admissions
from api.core.config import Settings
from api.core.db import Pool, Pools
from api.core.metrics import ApiMetrics, IngestMeter
from api.core.producer import EventProducer
from api.rules import EventRules
from drift.events import EventLimits
from drift.topics import Topics


@dataclass
class AppContext:
    """Everything the lifespan builds; stored on ``app.state.ctx``."""

    settings: Settings
    topics: Topics
    pools: Pools
    producer: EventProducer
    metrics: ApiMetrics
    meter: IngestMeter
    limits: EventLimits
    rules: EventRules
    admissions: Admissions


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def get_settings(request: Request) -> Settings:
    return get_ctx(request).settings


def get_reader(request: Request) -> Pool:
    return get_ctx(request).pools.reader


def get_writer(request: Request) -> Pool:
    return get_ctx(request).pools.writer


CtxDep = Annotated[AppContext, Depends(get_ctx)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ReaderDep = Annotated[Pool, Depends(get_reader)]
WriterDep = Annotated[Pool, Depends(get_writer)]
