"""PostgreSQL connection pools: a writer pool and a reader pool for the query side.

The reader connects as a read-only login granted ``driftmon_reader`` in production; locally it
falls back to the writer DSN. Connections are autocommit with a statement timeout, so a slow
query cannot hold a pooled connection forever.

Unavailability is bounded: PostgreSQL down or hung answers 503 (``database_unavailable``, with
Retry-After) within ``db_deadline_s``, and the pools recover as soon as it is back:

* libpq: ``connect_timeout``, TCP keepalives and ``tcp_user_timeout`` drop dead connections;
* every checkout is checked (``check_connection``), so connections broken by a restart are
  replaced instead of failing a request;
* while the server is down the pool tries to connect every ``db_reconnect_delay_s`` (psycopg's
  default exponential back-off left ~39 s of errors after PostgreSQL was back);
* :meth:`BoundedPool.run` runs a request's database work in a task of its own and stops waiting
  at the deadline. A hung server (SIGSTOP) answers nothing, and psycopg's own cancellation then
  waits up to 10 s for a cancel to be acknowledged; the abandoned task finishes (and returns its
  connection) whenever the server wakes up, while the request has long answered 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from psycopg_pool.base import AttemptWithBackoff

from api.core.config import Settings
from api.core.errors import ServiceUnavailable

log = logging.getLogger(__name__)

Conn = AsyncConnection[DictRow]
T = TypeVar("T")


class DatabaseUnavailable(ServiceUnavailable):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__("database_unavailable", f"PostgreSQL: {message}", retry_after)


class SteadyAttempt(AttemptWithBackoff):
    """Reconnection attempts at a fixed delay instead of doubling ones."""

    INITIAL_DELAY = 0.5
    DELAY_JITTER = 0.05
    DELAY_BACKOFF = 1.0


class BoundedPool(AsyncConnectionPool[Conn]):
    """A pool whose work has a deadline and whose reconnection has no back-off."""

    def __init__(
        self, *args: Any, deadline_s: float, retry_after_s: int, reconnect_s: float, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.deadline_s, self.retry_after_s, self.reconnect_s = (
            deadline_s,
            retry_after_s,
            reconnect_s,
        )
        self._abandoned: set[asyncio.Task[Any]] = set()

    async def _add_connection(
        self, attempt: AttemptWithBackoff | None, growing: bool = False
    ) -> None:
        if attempt is None:
            attempt = SteadyAttempt(timeout=self.reconnect_timeout)
            attempt.INITIAL_DELAY = self.reconnect_s
        await super()._add_connection(attempt, growing)

    async def _on_connection(self, work: Callable[[Conn], Awaitable[T]]) -> T:
        async with self.connection() as conn:
            return await work(conn)

    async def run(self, work: Callable[[Conn], Awaitable[T]]) -> T:
        """``work(conn)`` on a pooled connection; DatabaseUnavailable (503) when PostgreSQL is
        unreachable, refuses the connection, or has not finished by the deadline."""
        task = asyncio.ensure_future(self._on_connection(work))
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.deadline_s)
        except asyncio.CancelledError:  # the request went away: let the work finish alone
            self._abandon(task)
            raise
        except TimeoutError:
            self._abandon(task)
            raise DatabaseUnavailable(
                f"no answer within {self.deadline_s:g} s", self.retry_after_s
            ) from None
        except PoolTimeout as exc:
            raise DatabaseUnavailable(f"no connection: {exc}", self.retry_after_s) from exc
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(str(exc).strip(), self.retry_after_s) from exc

    def _abandon(self, task: asyncio.Task[Any]) -> None:
        """Keep a timed-out task referenced until it ends, then collect its outcome."""
        self._abandoned.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._abandoned.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.info("database work ended after its deadline: %s", t.exception())

        task.add_done_callback(done)


Pool = BoundedPool


def connection_kwargs(settings: Settings, name: str) -> dict[str, Any]:
    """libpq parameters of every pooled connection (dict rows, autocommit, bounded waits)."""
    return {
        "autocommit": True,
        "row_factory": dict_row,
        "options": f"-c statement_timeout={settings.db_statement_timeout_ms} -c timezone=UTC",
        "application_name": f"driftmon-api-{name}",
        "connect_timeout": settings.db_connect_timeout_s,
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 1,
        "keepalives_count": 3,
        "tcp_user_timeout": settings.db_tcp_user_timeout_ms,
    }


def make_pool(conninfo: str, settings: Settings, name: str) -> Pool:
    """A closed pool (open it in the lifespan); every checkout is checked first."""
    return BoundedPool(
        conninfo,
        connection_class=AsyncConnection[DictRow],
        kwargs=connection_kwargs(settings, name),
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_timeout_s,
        check=AsyncConnectionPool.check_connection,
        name=name,
        open=False,
        deadline_s=settings.db_deadline_s,
        retry_after_s=settings.retry_after_s,
        reconnect_s=settings.db_reconnect_delay_s,
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
