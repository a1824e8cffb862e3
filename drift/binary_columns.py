"""Binary columns of a columnar record (docs/architecture.md, "Event contract").

A numeric column may be ``{"f8": "<base64>"}`` instead of an array: n little-endian binary64
values, NaN meaning null; an ``embedding.<name>`` column ``{"f8" | "f4": "<base64>", "dim": d}``:
n x d values row-major, a row of only NaN meaning null. The worker reads them with one
``np.frombuffer`` each; every other reader (the API, the inference-log sink, the DLQ copy) sees
the array column it means (``expand``), so the rows, their reasons and their values are those
of the array record.
"""

from __future__ import annotations

import binascii
from typing import Any

import numpy as np

from drift.embeddings import EMBEDDING
from drift.schema import InvalidEvent

F8, F4, DIM = "f8", "f4", "dim"
_SCALARS = ("timestamp", "confidence", "prediction")
_PREFIXES = ("prediction.", "input.")
_DTYPES: dict[str, np.dtype[Any]] = {F8: np.dtype("<f8"), F4: np.dtype("<f4")}


def _refuse(name: str, problem: str) -> InvalidEvent:
    return InvalidEvent("bad_columns", f"column {name!r:.80} {problem}", "columns")


def _bytes(name: str, text: Any) -> bytes:
    if type(text) is not str:
        raise _refuse(name, 'is neither an array nor {"f8": "<base64>"}')
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise _refuse(name, "holds a string that is not base64") from None


def may_be_binary(name: str) -> bool:
    """A numeric column that may be binary (an embedding column has its own form)."""
    return name in _SCALARS or name.startswith(_PREFIXES)


def array(name: str, value: Any) -> np.ndarray:
    """The float64 values of binary numeric column ``name`` (NaN: null); InvalidEvent when it
    is not a valid one."""
    if not may_be_binary(name):
        only = "timestamp, confidence, prediction, prediction.<key>, input.<name> and embedding"
        raise _refuse(name, f"cannot be binary: only {only}.<name> can")
    if set(value) != {F8}:
        raise _refuse(name, 'is neither an array nor {"f8": "<base64>"}')
    raw = _bytes(name, value[F8])
    if len(raw) % 8:
        raise _refuse(name, f"holds {len(raw)} bytes, not a whole number of 8-byte values")
    values = np.frombuffer(raw, dtype=_DTYPES[F8]).astype(np.float64, copy=False)
    if np.isinf(values).any():
        raise _refuse(name, "holds an infinite value (binary columns carry finite numbers)")
    return values


def matrix(name: str, value: Any, max_dims: int) -> np.ndarray:
    """The (n, dim) float64 vectors of binary embedding column ``name`` (a row of only NaN:
    null); InvalidEvent when it is not a valid one."""
    kinds = set(value) - {DIM}
    if DIM not in value or len(kinds) != 1 or not kinds <= {F8, F4}:
        raise _refuse(name, 'is neither an array nor {"f8" or "f4": "<base64>", "dim": d}')
    dim, (kind,) = value[DIM], kinds
    if type(dim) is not int or not 0 < dim <= max_dims:
        raise _refuse(name, f"has dim {dim!r:.20}: expected an integer in 1..{max_dims}")
    raw, size = _bytes(name, value[kind]), _DTYPES[kind].itemsize
    if len(raw) % (dim * size):
        message = f"holds {len(raw)} bytes, not a whole number of rows of {dim} {kind} values"
        raise _refuse(name, message)
    values = np.frombuffer(raw, dtype=_DTYPES[kind]).astype(np.float64)
    return values.reshape(-1, dim)


def to_list(values: np.ndarray) -> list[Any]:
    """The array column it means: Python floats, None for NaN; of a matrix, a list per row
    (None for a row of only NaN)."""
    out: list[Any] = values.tolist()
    if values.ndim == 2:
        null = np.isnan(values).all(axis=1)
        return [None if n else row for row, n in zip(out, null.tolist(), strict=True)]
    if np.isnan(values).any():
        out = [None if v != v else v for v in out]
    return out


def expand(columns: dict[str, Any], max_dims: int = 1 << 30) -> dict[str, Any]:
    """``columns`` with every binary column as the array it means (the same dict when none
    is binary); InvalidEvent for an invalid one. ``max_dims``: the longest embedding."""
    if not any(type(v) is dict for v in columns.values()):
        return columns
    out = {}
    for name, v in columns.items():
        if type(v) is not dict:
            out[name] = v
        elif name.startswith(EMBEDDING):
            out[name] = to_list(matrix(name, v, max_dims))
        else:
            out[name] = to_list(array(name, v))
    return out
