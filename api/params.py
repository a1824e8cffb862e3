"""Query and path parameters shared by the list endpoints, as typed ``Annotated`` aliases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Query

from api import cursor
from api.core.config import Settings
from api.queries import Window

MODEL_ID = r"^[A-Za-z0-9._-]{1,64}$"
NO_NUL = r"^[^\x00]+$"

ModelIdPath = Annotated[str, Path(pattern=MODEL_ID, description="model id", examples=["1"])]
ModelIdQuery = Annotated[
    str | None, Query(pattern=MODEL_ID, description="only this model", examples=["1"])
]
StreamQuery = Annotated[
    str | None,
    Query(max_length=256, pattern=NO_NUL, description="only this stream", examples=["feature1"]),
]
Since = Annotated[
    datetime | None, Query(alias="from", description="inclusive lower bound of the time range")
]
Until = Annotated[
    datetime | None, Query(alias="to", description="exclusive upper bound of the time range")
]
Limit = Annotated[
    int | None,
    Query(ge=1, le=10_000, description="page size (default and cap: settings)"),
]
Cursor = Annotated[
    str | None,
    Query(alias="cursor", max_length=200, description="next_cursor of the previous page"),
]


def window(
    settings: Settings,
    equals: dict[str, str | None],
    since: datetime | None,
    until: datetime | None,
    after: str | None,
    limit: int | None,
) -> Window:
    """The query Window of a list request (decoding the cursor, clamping the page size)."""
    size = min(limit or settings.page_limit_default, settings.page_limit_max)
    return Window(
        equals=equals,
        since=since,
        until=until,
        after=cursor.decode(after) if after else None,
        limit=size,
    )
