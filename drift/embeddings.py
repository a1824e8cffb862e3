"""Validation of an event's named vectors: ``"embeddings": {"text": [0.12, ...], ...}``.

Each embedding is an array of 1 to ``max_embedding_dims`` numbers, finite and within
``max_embedding_abs`` (at most ``drift.vectors.MAX_ABS``, the bound the fixed-point moments
rely on); an event carries at most ``max_embeddings`` of them, under names of 1-64
``[A-Za-z0-9_-]`` (no dots: ``embedding.<name>.pNN`` names its projections). Reasons:
``bad_embedding`` (not an object / array of numbers, empty), ``bad_embedding_name``,
``too_many_embeddings``, ``embedding_too_long``, ``embedding_out_of_range``. The dimension of
a (model, name) is fixed by the first vector the worker counts (``embedding_dimension``
otherwise, judged by the worker since it needs the model's state).
"""

from __future__ import annotations

import math
import re
from typing import Any

from drift.schema import EventLimits, InvalidEvent

EMBEDDING = "embedding."  # stream prefix and columnar column prefix
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_embedding_name(name: Any) -> bool:
    return type(name) is str and _NAME.fullmatch(name) is not None


def vector(value: Any, name: str, limits: EventLimits) -> list[float]:
    """One embedding checked and returned as floats."""
    field = f"embeddings.{name}"
    if type(value) is not list or not value:
        raise InvalidEvent(
            "bad_embedding", f"{field}: expected a non-empty array of numbers", field
        )
    if len(value) > limits.max_embedding_dims:
        message = f"{field}: {len(value)} dimensions exceed {limits.max_embedding_dims}"
        raise InvalidEvent("embedding_too_long", message, field)
    types = set(map(type, value))
    if not types <= {float, int}:
        bad = next(v for v in value if type(v) not in (float, int))
        message = f"{field}: expected numbers, got {type(bad).__name__}"
        raise InvalidEvent("bad_embedding", message, field)
    try:
        out = [float(v) for v in value] if int in types else value
    except OverflowError:
        out = [math.inf]
    bound = limits.max_embedding_abs
    if not all(-bound <= v <= bound for v in out):  # NaN fails too
        message = f"{field}: values must be finite and within [-{bound:g}, {bound:g}]"
        raise InvalidEvent("embedding_out_of_range", message, field)
    return out


def embeddings(obj: dict[str, Any], limits: EventLimits) -> dict[str, list[float]]:
    """The event's ``embeddings`` ({} when absent or null)."""
    held = obj.get("embeddings")
    if held is None:
        return {}
    if type(held) is not dict:
        message = "embeddings must be an object of name: array of numbers"
        raise InvalidEvent("bad_embedding", message, "embeddings")
    if len(held) > limits.max_embeddings:
        message = f"{len(held)} embeddings exceed {limits.max_embeddings} per event"
        raise InvalidEvent("too_many_embeddings", message, "embeddings")
    out = {}
    for name, value in held.items():
        if not is_embedding_name(name):
            message = f"embedding name {name!r:.80} is not 1-64 characters of [A-Za-z0-9_-]"
            raise InvalidEvent("bad_embedding_name", message, "embeddings")
        out[name] = vector(value, name, limits)
    return out
