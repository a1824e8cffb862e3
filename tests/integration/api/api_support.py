"""Helpers of the API tests: a real uvicorn server in a thread, SQL and Kafka shortcuts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import uvicorn
from confluent_kafka import Consumer
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from api.core.config import Settings
from api.main import create_app
from drift.topics import Topics


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread (lifespan included); yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@dataclass
class Api:
    """A served app: its HTTP client, settings, metrics registry and topics."""

    client: httpx.Client
    settings: Settings
    registry: CollectorRegistry
    topics: Topics
    dsn: str


def make_settings(bootstrap: str, dsn: str, prefix: str, **overrides: Any) -> Settings:
    """Test settings: insecure-local on (writes without a key) unless overridden."""
    return Settings(
        database_url=dsn,
        kafka_bootstrap=bootstrap,
        topic_prefix=prefix,
        run_migrations=False,
        **{"insecure_local": True, **overrides},
    )


@contextmanager
def running_api(settings: Settings) -> Iterator[Api]:
    registry = CollectorRegistry()
    app = create_app(settings, registry)
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield Api(client, settings, registry, Topics(settings.topic_prefix), settings.database_url)


def sql(dsn: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run one statement as the owner; returns its rows (empty for statements without)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def consume(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[Any]:
    """At least ``count`` messages of ``topic`` from the beginning (fewer if the time runs out)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{topic}-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                got.append(msg)
    finally:
        consumer.close()
    return got


T0 = datetime(2026, 11, 26, tzinfo=UTC)


def at(minute: int) -> datetime:
    """``minute`` minutes after 2026-11-26T00:00Z (the time axis of the inserted rows)."""
    return T0 + timedelta(minutes=minute)


def insert(dsn: str, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows (all with the same columns) into ``table`` as the owner."""
    names = list(rows[0])
    query = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(query, [[r[n] for n in names] for r in rows])


def run_row(model_id: str, stream: str, minute: int, **cols: Any) -> dict[str, Any]:
    """A drift_runs row whose window ends at ``at(minute)``."""
    return {
        "model_id": model_id,
        "stream": stream,
        "stream_kind": "numeric",
        "window_start": at(minute - 60),
        "window_end": at(minute),
        "status": "ok",
        "kl_divergence": 0.01 * minute,
        "cosine_similarity": 0.99,
        "psi": None,
        "recent_count": 100,
        "baseline_count": 1000,
        **cols,
    }
