"""Opaque paging cursors: the keyset ``(time, id)`` of the last row of a page, base64url JSON."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from api.core.errors import ApiError


def encode(at: datetime, row_id: int) -> str:
    """The cursor continuing after the row ``(at, row_id)``."""
    raw = json.dumps([at.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, int]:
    """``(time, id)`` from a cursor; 422 naming ``cursor`` when it was not made by encode()."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = json.loads(raw)
        parsed = datetime.fromisoformat(at)
        if not isinstance(row_id, int) or not -(2**63) <= row_id < 2**63 or parsed.tzinfo is None:
            raise ValueError("bad cursor")
        return parsed, row_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(
            422, "invalid_cursor", "cursor: not a cursor from this API", "cursor"
        ) from exc


def page(
    rows: list[dict[str, object]], limit: int, time_key: str
) -> tuple[list[dict[str, object]], str | None]:
    """Trim ``limit + 1`` fetched rows to a page and the cursor of the next (None: last page)."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    at, row_id = rows[-1][time_key], rows[-1]["id"]
    assert isinstance(at, datetime) and isinstance(row_id, int)
    return rows, encode(at, row_id)
