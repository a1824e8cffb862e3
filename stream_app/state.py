"""What the worker keeps per model in its changelogged table, and how it is serialised.

Keys: ``"<model>|b|<bucket start>"`` holds one event-time bucket (a histogram per stream);
``"<model>|meta"`` holds the model's watermark, window position, alert states and overrides;
``"<model>|pinned"`` holds a pinned baseline. Every record carries ``applied``: the highest source
offset (per partition) whose batch it already contains. A value is one Kafka message, so it is
written atomically; a batch replayed after a crash skips the offsets a record already holds.
That makes the counts exact without Kafka transactions (see docs/architecture.md).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import orjson

from drift import AlertState, Histogram, histogram_from_bytes

_LEN = struct.Struct(">I")


def bucket_key(model_id: str, start: int) -> str:
    return f"{model_id}|b|{start}"


def meta_key(model_id: str) -> str:
    return f"{model_id}|meta"


def pinned_key(model_id: str) -> str:
    return f"{model_id}|pinned"


def pack_histograms(header: dict[str, Any], hists: dict[str, Histogram]) -> bytes:
    """``header`` (JSON) plus named histograms in their own compact binary form."""
    blobs = [(name, h.to_bytes()) for name, h in hists.items()]
    head = orjson.dumps({**header, "h": [(name, len(b)) for name, b in blobs]})
    return b"".join([_LEN.pack(len(head)), head, *(b for _, b in blobs)])


def unpack_histograms(data: bytes) -> tuple[dict[str, Any], dict[str, Histogram]]:
    (size,) = _LEN.unpack_from(data)
    header = orjson.loads(data[4 : 4 + size])
    pos, hists = 4 + size, {}
    for name, length in header.pop("h"):
        hists[name] = histogram_from_bytes(data[pos : pos + length])
        pos += length
    return header, hists


@dataclass
class BucketRecord:
    """One event-time bucket of one model."""

    start: int
    hists: dict[str, Histogram] = field(default_factory=dict)
    applied: dict[int, int] = field(default_factory=dict)

    def already_applied(self, partition: int, offset: int) -> bool:
        return offset <= self.applied.get(partition, -1)

    def to_bytes(self) -> bytes:
        return pack_histograms({"s": self.start, "a": list(self.applied.items())}, self.hists)

    @classmethod
    def from_bytes(cls, data: bytes) -> BucketRecord:
        header, hists = unpack_histograms(data)
        return cls(header["s"], hists, {int(p): int(o) for p, o in header["a"]})


@dataclass
class ModelMeta:
    """Window position and per-model state; ``next_end`` is the next window end to evaluate."""

    model_id: str
    partition: int
    watermark: float = float("-inf")
    next_end: int | None = None
    buckets: list[int] = field(default_factory=list)
    alerts: dict[str, AlertState] = field(default_factory=dict)
    thresholds: dict[str, dict[str, float | None]] = field(default_factory=dict)
    pinned: bool = False
    late_dropped: int = 0

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "m": self.model_id,
                "p": self.partition,
                "w": None if self.watermark == float("-inf") else self.watermark,
                "n": self.next_end,
                "b": sorted(self.buckets),
                "t": self.thresholds,
                "pin": self.pinned,
                "late": self.late_dropped,
                "al": {k: [s.open, s.drift_streak, s.ok_streak] for k, s in self.alerts.items()},
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ModelMeta:
        d = orjson.loads(data)
        alerts = {k: AlertState(bool(o), int(ds), int(ok)) for k, (o, ds, ok) in d["al"].items()}
        watermark = float("-inf") if d["w"] is None else float(d["w"])
        return cls(
            d["m"],
            int(d["p"]),
            watermark,
            d["n"],
            list(d["b"]),
            alerts,
            d["t"],
            bool(d["pin"]),
            int(d["late"]),
        )


@dataclass
class PinnedBaseline:
    hists: dict[str, Histogram]
    window_start: int
    window_end: int

    def to_bytes(self) -> bytes:
        return pack_histograms({"ws": self.window_start, "we": self.window_end}, self.hists)

    @classmethod
    def from_bytes(cls, data: bytes) -> PinnedBaseline:
        header, hists = unpack_histograms(data)
        return cls(hists, int(header["ws"]), int(header["we"]))
