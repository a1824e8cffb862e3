"""PostgreSQL connection pools: a writer pool and a reader pool for the query side.

The reader connects as a read-only login granted ``driftmon_reader`` in production; locally it
falls back to the writer DSN. Connections are autocommit with a statement timeout, so a slow
query cannot hold a pooled connection forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from api.core.config import Settings

Pool = AsyncConnectionPool[AsyncConnection[DictRow]]


def make_pool(conninfo: str, settings: Settings, name: str) -> Pool:
    """A closed pool (open it in the lifespan); dict rows, autocommit, statement timeout."""
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "row_factory": dict_row,
        "options": f"-c statement_timeout={settings.db_statement_timeout_ms} -c timezone=UTC",
        "application_name": f"driftmon-api-{name}",
    }
    return AsyncConnectionPool(
        conninfo,
        connection_class=AsyncConnection[DictRow],
        kwargs=kwargs,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_timeout_s,
        name=name,
        open=False,
    )


@dataclass(frozen=True)
class Pools:
    """The writer and reader pools (the same object when no reader DSN is configured)."""

    writer: Pool
    reader: Pool

    @classmethod
    def from_settings(cls, settings: Settings) -> Pools:
        writer = make_pool(settings.database_url, settings, "writer")
        if settings.read_url == settings.database_url:
            return cls(writer, writer)
        return cls(writer, make_pool(settings.read_url, settings, "reader"))

    def all(self) -> list[Pool]:
        return [self.writer] if self.reader is self.writer else [self.writer, self.reader]

    async def open(self) -> None:
        for pool in self.all():
            await pool.open(wait=False)

    async def close(self) -> None:
        for pool in self.all():
            await pool.close()
