"""Binary numeric columns of a columnar record (docs/architecture.md, "Event contract").

A numeric column may be ``{"f8": "<base64>"}`` instead of an array: n little-endian binary64
values, NaN meaning null. The worker reads it with one ``np.frombuffer`` (``array``); every
other reader (the API, the inference-log sink, the DLQ copy) sees the array column it means
(``expand``), so the rows, their reasons and their values are those of the array record.
"""

from __future__ import annotations

import binascii
from typing import Any

import numpy as np

from drift.schema import InvalidEvent

F8 = "f8"
_SCALARS = ("timestamp", "confidence", "prediction")
_PREFIXES = ("prediction.", "input.")
_LE_F8 = np.dtype("<f8")


def _refuse(name: str, problem: str) -> InvalidEvent:
    return InvalidEvent("bad_columns", f"column {name!r:.80} {problem}", "columns")


def array(name: str, value: Any) -> np.ndarray:
    """The float64 values of binary column ``name`` (NaN: null); InvalidEvent when it is not
    a valid one."""
    if name not in _SCALARS and not name.startswith(_PREFIXES):
        only = "timestamp, confidence, prediction, prediction.<key> and input.<name> can"
        raise _refuse(name, f"cannot be binary: only {only}")
    if set(value) != {F8} or type(value[F8]) is not str:
        raise _refuse(name, 'is neither an array nor {"f8": "<base64>"}')
    try:
        raw = binascii.a2b_base64(value[F8], strict_mode=True)
    except (binascii.Error, ValueError):
        raise _refuse(name, "holds an f8 string that is not base64") from None
    if len(raw) % 8:
        raise _refuse(name, f"holds {len(raw)} bytes, not a whole number of 8-byte values")
    values = np.frombuffer(raw, dtype=_LE_F8).astype(np.float64, copy=False)
    if np.isinf(values).any():
        raise _refuse(name, "holds an infinite value (binary columns carry finite numbers)")
    return values


def to_list(values: np.ndarray) -> list[float | None]:
    """The array column it means: Python floats, None for NaN."""
    out: list[float | None] = values.tolist()
    if np.isnan(values).any():
        out = [None if v != v else v for v in out]
    return out


def expand(columns: dict[str, Any]) -> dict[str, Any]:
    """``columns`` with every binary column as the array it means (the same dict when none
    is binary); InvalidEvent for an invalid one."""
    if not any(type(v) is dict for v in columns.values()):
        return columns
    return {name: to_list(array(name, v)) if type(v) is dict else v for name, v in columns.items()}
