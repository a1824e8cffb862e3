"""One model's columnar records of a batch joined into one ``ColumnBatch`` (numpy columns).

``join`` makes one ``np.array`` call per stream over the records that ``decode_columns``
(``drift.columnar_wire``) validated, so a record of one event costs a few list operations, not
a numpy call per column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any

import numpy as np

from drift.columnar_wire import ColumnarRecord, null_count
from drift.columns import ColumnBatch, Kind


def _kind_seen(parts: Sequence[ColumnarRecord], name: str) -> Kind:
    """The kind of the first part holding a value of stream ``name`` (numeric: none does)."""
    for p in parts:
        values = p.columns.get(name)
        if values is not None and null_count(values) != p.n:
            return "numeric" if name in p.numeric else "categorical"
    return "numeric"


def _or_nulls(column: Sequence[Any] | np.ndarray | None, n: int) -> Sequence[Any] | np.ndarray:
    return [None] * n if column is None else column


def _floats(columns: Sequence[Sequence[Any] | np.ndarray]) -> np.ndarray:
    """The columns of the parts as one float64 array (null: NaN); binary columns are
    concatenated as arrays, array columns read in one ``np.array`` call."""
    if any(type(c) is np.ndarray for c in columns):
        return np.concatenate([np.asarray(c, dtype=np.float64) for c in columns])
    return np.array(list(chain.from_iterable(columns)), dtype=np.float64)


def join(parts: Sequence[ColumnarRecord], known_kinds: Mapping[str, Kind]) -> ColumnBatch:
    """One model's columnar records as one ``ColumnBatch`` (rows in record order), one
    ``np.array`` call per stream. A stream's kind is ``known_kinds[stream]`` or that of its
    first value (as ``to_columns`` decides); rows of the other kind, or of a record without
    the stream, are missing."""
    times = [_or_nulls(p.columns.get("timestamp"), p.n) for p in parts]
    batch = ColumnBatch(_floats(times))
    first = parts[0]
    if all(p.numeric is first.numeric and not p.categorical for p in parts):  # one layout
        for name in first.numeric:
            if known_kinds.get(name, "numeric") == "numeric":
                batch.numeric[name] = _floats([p.columns[name] for p in parts])
            else:
                batch.categorical[name] = [None] * len(batch.timestamps)
        return batch
    names = dict.fromkeys(n for p in parts for n in (*p.numeric, *p.categorical))
    for name in names:
        kind = known_kinds.get(name) or _kind_seen(parts, name)
        held = [p.numeric if kind == "numeric" else p.categorical for p in parts]
        lists = [
            p.columns[name] if name in mine else [None] * p.n
            for p, mine in zip(parts, held, strict=True)
        ]
        if kind == "numeric":
            batch.numeric[name] = _floats(lists)
        else:
            batch.categorical[name] = list(chain.from_iterable(lists))
    return batch
