"""The worker's reading of binary columns (``drift.binary_columns``, docs/architecture.md
"Event contract") in the columnar fast path: msgspec decodes a record into ``Binary`` structs
holding the base64 text, pybase64 decodes that text (SIMD: about six times msgspec's own
base64, which took two thirds of a 500-event record's decoding), ``arrays`` turns them into
numpy arrays (all numeric columns of a record in one ``np.frombuffer``), ``vectors_of`` checks
the vectors as ``validate_event`` would. None from either means "not the plain case": the
general path judges the record and says why. pybase64's ``validate=True`` refuses what
msgspec's base64 refused (a test compares them), a little more than the general path's
``binascii`` strict mode, which then takes the record.
"""

from __future__ import annotations

import binascii
from functools import lru_cache
from typing import Any

import msgspec
import numpy as np
import pybase64

from drift.binary_columns import may_be_binary
from drift.embeddings import EMBEDDING
from drift.schema import EventLimits


class Binary(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A binary column ``{"f8": "<base64>"}``, or of vectors ``{"f8" | "f4": ..., "dim": d}``
    (``drift.binary_columns``), its base64 as text (``unbase64``)."""

    f8: str | None = None
    f4: str | None = None
    dim: int | None = None


def unbase64(text: str) -> bytes | None:
    """The bytes of strict base64 ``text``; None: not strict base64."""
    try:
        return pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _matrix(value: Binary) -> np.ndarray | None:
    """The (n, dim) vectors of a binary embedding column; None: not a valid one."""
    if value.dim is None or value.dim <= 0 or (value.f8 is None) == (value.f4 is None):
        return None
    text, dtype = (value.f8, "<f8") if value.f8 is not None else (value.f4, "<f4")
    assert text is not None
    raw = unbase64(text)
    if raw is None or len(raw) % (value.dim * (8 if dtype == "<f8" else 4)):
        return None
    return np.frombuffer(raw, dtype=dtype).astype(np.float64).reshape(-1, value.dim)


@lru_cache(maxsize=4096)
def _may_be_binary(names: tuple[str, ...]) -> bool:
    return all(map(may_be_binary, names))


def arrays(columns: dict[str, Any]) -> dict[str, Any] | None:
    """``columns`` with each binary column as its float64 array; None when one is not valid
    (a name that cannot be binary, a partial value, an infinity): the general path says why.
    All binary columns of a record are read in one ``np.frombuffer`` (a record of one event
    then costs one numpy call, not one per column)."""
    names = tuple(k for k, v in columns.items() if type(v) is Binary)
    if not names:
        return columns
    out = dict(columns)
    if any(k.startswith(EMBEDDING) for k in names):
        for name in [k for k in names if k.startswith(EMBEDDING)]:
            if (vectors := _matrix(columns[name])) is None:
                return None
            out[name] = vectors
        names = tuple(k for k in names if not k.startswith(EMBEDDING))
        if not names:
            return out
    if not _may_be_binary(names):
        return None
    blobs: list[bytes] = []
    for name in names:  # one pass: a generator per check cost a tenth of the record's reading
        column = columns[name]
        if column.f8 is None or column.f4 is not None or column.dim is not None:
            return None
        blob = unbase64(column.f8)
        if blob is None or len(blob) & 7:
            return None
        blobs.append(blob)
    sizes = set(map(len, blobs))
    values = np.frombuffer(b"".join(blobs), dtype="<f8").astype(np.float64, copy=False)
    if np.isinf(values).any():
        return None
    if len(sizes) == 1:  # the usual case: every binary column holds the record's n values
        out.update(zip(names, values.reshape(len(names), -1), strict=True))
        return out
    start = 0
    for name, blob in zip(names, blobs, strict=True):
        out[name], start = values[start : start + len(blob) // 8], start + len(blob) // 8
    return out


def vectors_of(
    columns: dict[str, Any], names: tuple[str, ...], limits: EventLimits
) -> dict[str, np.ndarray] | None:
    """The record's vectors by embedding name (those with at least one non-null row); None
    when a column is not binary (the general path), too long, or a non-null row holds a value
    that is not finite within ``max_embedding_abs`` (the general path refuses that row)."""
    out = {}
    bound = limits.max_embedding_abs
    for name in names:
        vectors = columns[name]
        if type(vectors) is not np.ndarray or vectors.shape[1] > limits.max_embedding_dims:
            return None
        present = np.asarray(~np.isnan(vectors).all(axis=1))
        if not present.any():
            continue
        held = vectors if present.all() else np.where(present[:, None], vectors, 0.0)
        if not (np.abs(held) <= bound).all():  # NaN and infinities fail too
            return None
        out[name[len(EMBEDDING) :]] = vectors
    return out
