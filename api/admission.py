"""Model admission: a model id gets state only once admitted, within quotas kept in PostgreSQL.

Every write that creates model state (ingest, thresholds, baseline pin) asks :class:`Admissions`
first. A model is *active* while its ``model_admissions.last_seen_at`` lies within the idle
horizon (``DRIFT_MODEL_IDLE_EVICT_SECONDS``); only active models count. A new (or idle) id is
admitted while the caller's key has fewer than ``DRIFT_MODELS_PER_KEY`` active models and all
keys together fewer than ``DRIFT_MAX_MODELS``; otherwise the write is 429 naming the limit.
New admissions are serialised by a transaction-level advisory lock, so concurrent requests
cannot overshoot a quota. An admitted model is remembered by this process for
``admission_touch_seconds``: within that time its writes need no database round trip, after it
one UPDATE refreshes ``last_seen_at``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from api.core.db import Conn, Pool
from api.core.errors import QuotaExceeded

QUOTA_CODES = frozenset({"model_quota_exceeded", "max_models_reached"})
_LOCK = 0x6D6F64656C61646D  # pg_advisory_xact_lock key of new admissions ("modeladm")
_ACTIVE = "last_seen_at > now() - make_interval(secs => %(idle)s)"


@dataclass(frozen=True)
class Refusal:
    """Why a model id was not admitted: the limit (setting name) and its value."""

    model_id: str
    limit: str
    value: int
    code: str

    @property
    def message(self) -> str:
        holder = "this API key has" if self.limit == "DRIFT_MODELS_PER_KEY" else "all keys have"
        return (
            f"model {self.model_id!r} not admitted: {holder} {self.value} active models "
            f"({self.limit}={self.value}); models idle for DRIFT_MODEL_IDLE_EVICT_SECONDS free "
            "their slot"
        )

    def error(self) -> QuotaExceeded:
        return QuotaExceeded(self.code, self.message)


class Admissions:
    """Admits model ids per API key (key id) within the quotas."""

    def __init__(self, per_key: int, total: int, idle_s: int, touch_s: float) -> None:
        self.per_key, self.total, self.idle_s, self.touch_s = per_key, total, idle_s, touch_s
        self._touched: dict[str, float] = {}  # model id → monotonic time of the last DB touch

    async def admit(self, pool: Pool, key_id: str, model_ids: set[str]) -> dict[str, Refusal]:
        """Admit ``model_ids`` for ``key_id``; the refused ones with their reason."""
        now = time.monotonic()
        pending = sorted(m for m in model_ids if now - self._touched.get(m, -1e18) > self.touch_s)
        if not pending:
            return {}

        async def work(conn: Conn) -> dict[str, Refusal]:
            async with conn.transaction():
                return await self._admit(conn, key_id, pending)

        refused = await pool.run(work)
        for model_id in pending:
            if model_id not in refused:
                self._touched[model_id] = now
        if len(self._touched) > 4 * self.total:  # forget the stale entries, keep memory bounded
            self._touched = {m: t for m, t in self._touched.items() if now - t <= self.touch_s}
        return refused

    async def _admit(self, conn: Conn, key_id: str, pending: list[str]) -> dict[str, Refusal]:
        params = {"idle": self.idle_s, "ids": pending, "key": key_id}
        cur = await conn.execute(
            f"UPDATE model_admissions SET last_seen_at = now() "
            f"WHERE model_id = ANY(%(ids)s) AND {_ACTIVE} RETURNING model_id",
            params,
        )
        active = {row["model_id"] for row in await cur.fetchall()}
        new = [m for m in pending if m not in active]
        if not new:
            return {}
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        cur = await conn.execute(
            f"SELECT count(*) FILTER (WHERE key_id = %(key)s) AS mine, count(*) AS total "
            f"FROM model_admissions WHERE {_ACTIVE}",
            params,
        )
        counts = await cur.fetchone()
        assert counts is not None
        room = min(self.per_key - counts["mine"], self.total - counts["total"])
        admitted, rest = new[: max(room, 0)], new[max(room, 0) :]
        if admitted:
            await conn.execute(
                "INSERT INTO model_admissions (model_id, key_id) "
                "SELECT unnest(%(ids)s::text[]), %(key)s "
                "ON CONFLICT (model_id) DO UPDATE SET key_id = EXCLUDED.key_id, "
                "admitted_at = now(), last_seen_at = now() "
                "WHERE model_admissions.last_seen_at <= now() - make_interval(secs => %(idle)s)",
                {**params, "ids": admitted},
            )
        key_full = counts["mine"] + len(admitted) >= self.per_key
        return {
            m: Refusal(m, "DRIFT_MODELS_PER_KEY", self.per_key, "model_quota_exceeded")
            if key_full
            else Refusal(m, "DRIFT_MAX_MODELS", self.total, "max_models_reached")
            for m in rest
        }


async def slots(pool: Pool, idle_s: int) -> list[dict[str, Any]]:
    """Active models per key id (for GET /models/admissions)."""

    async def work(conn: Conn) -> list[dict[str, Any]]:
        cur = await conn.execute(
            f"SELECT key_id, count(*) AS admitted, max(last_seen_at) AS last_seen_at "
            f"FROM model_admissions WHERE {_ACTIVE} GROUP BY key_id ORDER BY key_id",
            {"idle": idle_s},
        )
        return list(await cur.fetchall())

    return await pool.run(work)
