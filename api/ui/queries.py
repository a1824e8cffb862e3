"""The dashboard's own SQL: the stored distributions of a stream (bound parameters only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.core.db import Pool
from api.queries import RUN_COLUMNS

_RUN = f"""
SELECT {RUN_COLUMNS}, bins
FROM drift_runs
WHERE model_id = %(m)s AND stream = %(s)s
  AND (%(before)s::timestamptz IS NULL OR window_end <= %(before)s)
ORDER BY window_end DESC, id DESC LIMIT 1
"""


async def stream_run(
    pool: Pool, model_id: str, stream: str, before: datetime | None
) -> dict[str, Any] | None:
    """The newest drift_runs row of a stream ending at or before ``before`` (any when None)."""
    async with pool.connection() as conn:
        cur = await conn.execute(_RUN, {"m": model_id, "s": stream, "before": before})
        row: dict[str, Any] | None = await cur.fetchone()
        return row
