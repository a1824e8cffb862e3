"""Monitored streams of events: flattening and the columnar batch the histograms consume.

Stream names: ``input.<feature>`` (nested objects joined with dots), ``prediction`` for a bare
prediction or ``prediction.<key>`` for an object, and ``confidence``. Numbers become floats,
booleans the categories ``"true"``/``"false"``, strings stay strings, null is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from drift.schema import InferenceEvent

StreamValue = float | str | None
Kind = Literal["numeric", "categorical"]


def _value(value: Any) -> StreamValue:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return float(value)
    return str(value)


def _flatten(prefix: str, obj: Mapping[str, Any], out: dict[str, StreamValue]) -> None:
    for key, value in obj.items():
        name = f"{prefix}.{key}"
        if isinstance(value, Mapping):
            _flatten(name, value, out)
        else:
            out[name] = _value(value)


def flatten_streams(event: InferenceEvent) -> dict[str, StreamValue]:
    """The value of every monitored stream of one event (absent prediction/confidence omitted)."""
    streams: dict[str, StreamValue] = {}
    _flatten("input", event.input_data, streams)
    if isinstance(event.prediction, Mapping):
        _flatten("prediction", event.prediction, streams)
    elif event.prediction is not None:
        streams["prediction"] = _value(event.prediction)
    if event.confidence is not None:
        streams["confidence"] = float(event.confidence)
    return streams


@dataclass
class ColumnBatch:
    """Events of one model as columns; row ``i`` of every column is event ``i``.

    A stream absent from an event (or null) is missing in that row: NaN or None.
    """

    timestamps: NDArray[np.float64]
    numeric: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    categorical: dict[str, list[str | None]] = field(default_factory=dict)

    def kinds(self) -> dict[str, Kind]:
        kinds: dict[str, Kind] = dict.fromkeys(self.numeric, "numeric")
        kinds.update(dict.fromkeys(self.categorical, "categorical"))
        return kinds


def to_columns(
    events: Sequence[InferenceEvent],
    default_time: float,
    known_kinds: Mapping[str, Kind] | None = None,
) -> ColumnBatch:
    """Columns of ``events`` (one model). A stream's kind is ``known_kinds[stream]`` or the kind
    it is first seen with; a value of the other kind counts as missing. Streams that are only
    ever null in the batch (and not known) are numeric columns of NaN."""
    n = len(events)
    times = [default_time if e.timestamp is None else e.timestamp for e in events]
    batch = ColumnBatch(np.array(times, dtype=np.float64))
    kinds: dict[str, Kind] = dict(known_kinds or {})
    seen: set[str] = set()
    for row, event in enumerate(events):
        for name, value in flatten_streams(event).items():
            seen.add(name)
            if value is None:
                continue
            kind: Kind = "numeric" if isinstance(value, float) else "categorical"
            if kinds.setdefault(name, kind) != kind:
                continue  # conflicting kind: stays missing in this row
            if isinstance(value, float):
                batch.numeric.setdefault(name, np.full(n, np.nan))[row] = value
            else:
                batch.categorical.setdefault(name, [None] * n)[row] = value
    for name in seen - batch.numeric.keys() - batch.categorical.keys():
        if kinds.get(name, "numeric") == "numeric":
            batch.numeric[name] = np.full(n, np.nan)
        else:
            batch.categorical[name] = [None] * n
    return batch
