"""What the worker keeps per model in its changelogged table, and how it is serialised.

Keys: ``"<model>|b|<bucket start>"`` holds one event-time bucket (a histogram per stream);
``"<model>|meta"`` holds the model's watermark, window position, alert states and overrides;
``"<model>|pinned"`` holds a pinned baseline. Every bucket record carries ``applied``: per source
partition, the offset spans it has already taken in (sorted, disjoint ``(first, last)`` runs). A
value is one Kafka message, so it is written atomically; a record delivered again (a replay after
a crash, a redelivery around a rebalance) is skipped when its offset lies in a span, and counted
when it does not, whatever order records arrive in. That makes the counts exact without Kafka
transactions (see docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from drift import AlertState, Histogram, histogram_from_bytes

_LEN = struct.Struct(">I")


def bucket_key(model_id: str, start: int) -> str:
    return f"{model_id}|b|{start}"


def meta_key(model_id: str) -> str:
    return f"{model_id}|meta"


def pinned_key(model_id: str) -> str:
    return f"{model_id}|pinned"


def reference_key(model_id: str, kind: str, stream: str) -> str:
    """A fixed per-stream reference: ``kind`` ``f`` (frozen while a stream is in drift) or
    ``ps`` (the sub-windows of a pinned baseline)."""
    return f"{model_id}|{kind}|{stream}"


def hour_key(model_id: str, start: int) -> str:
    """A roll-up of one recent-window-long span (seasonal baselines)."""
    return f"{model_id}|h|{start}"


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


Spans = list[tuple[int, int]]  # sorted, disjoint, non-adjacent (first, last) offset runs


def offset_runs(offsets: np.ndarray) -> Spans:
    """Runs of consecutive values among ``offsets`` (any order, repeats allowed)."""
    if len(offsets) == 0:
        return []
    u = np.unique(offsets)
    breaks = np.flatnonzero(np.diff(u) != 1)
    firsts = np.concatenate(([0], breaks + 1))
    lasts = np.concatenate((breaks, [len(u) - 1]))
    return [(int(u[a]), int(u[b])) for a, b in zip(firsts, lasts, strict=True)]


def merge_spans(held: Spans, new: Spans) -> Spans:
    """The union of two span lists, adjacent runs joined."""
    out: Spans = []
    for first, last in sorted(held + new):
        if out and first <= out[-1][1] + 1:
            if last > out[-1][1]:
                out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return out


def in_spans(spans: Spans, offsets: np.ndarray) -> np.ndarray:
    """Per offset, whether a span holds it."""
    if not spans:
        return np.zeros(len(offsets), bool)
    firsts = np.fromiter((a for a, _ in spans), np.int64, len(spans))
    lasts = np.fromiter((b for _, b in spans), np.int64, len(spans))
    i = np.searchsorted(firsts, offsets, side="right") - 1
    return (i >= 0) & (offsets <= lasts[np.maximum(i, 0)])


_ID_HASH = hashlib.blake2b(digest_size=8)  # copied per id: ~0.7x the cost of a new one


def id_digests(event_ids: Iterable[str]) -> list[bytes]:
    """Per event id its 8-byte blake2b digest (``id_hash``), one list for a batch."""
    out = []
    for event_id in event_ids:
        h = _ID_HASH.copy()
        h.update(event_id.encode())
        out.append(h.digest())
    return out


def id_hash(event_id: str) -> int:
    """The stable 64-bit hash of an event id kept in ``BucketRecord.ids``: its blake2b digest
    of 8 bytes, big-endian (0 marks "no id"; an id hashing to 0 is not de-duplicated, a chance
    of 2**-64)."""
    return int.from_bytes(id_digests((event_id,))[0], "big")


_NO_IDS = np.zeros(0, np.uint64)


@dataclass
class BucketRecord:
    """One event-time bucket of one model.

    ``ids`` holds the 64-bit hashes of the explicit event ids counted in the bucket (sorted,
    unique; 8 bytes each in the record), kept while the bucket lies within the dedup horizon:
    an id seen again there is counted once. They go with the bucket, or earlier when it leaves
    the horizon."""

    start: int
    hists: dict[str, Histogram] = field(default_factory=dict)
    applied: dict[int, Spans] = field(default_factory=dict)
    ids: np.ndarray = field(default_factory=lambda: _NO_IDS)

    def already_applied(self, partition: int, offset: int) -> bool:
        return bool(in_spans(self.applied.get(partition, []), np.array([offset]))[0])

    def to_bytes(self) -> bytes:
        applied = [(p, spans) for p, spans in self.applied.items()]
        packed = pack_histograms({"s": self.start, "a": applied, "i": len(self.ids)}, self.hists)
        return packed + self.ids.astype(">u8").tobytes() if len(self.ids) else packed

    @classmethod
    def from_bytes(cls, data: bytes) -> BucketRecord:
        header, hists = unpack_histograms(data)
        applied: dict[int, Spans] = {}
        for p, held in header["a"]:
            if isinstance(held, int):  # written before spans: everything up to that offset
                applied[int(p)] = [(0, held)]
            else:
                applied[int(p)] = [(int(a), int(b)) for a, b in held]
        n = int(header.get("i", 0))
        ids = np.frombuffer(data[len(data) - 8 * n :], ">u8").astype(np.uint64) if n else _NO_IDS
        return cls(header["s"], hists, applied, ids)


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
    last_seen: float = 0.0  # wall clock of the last batch with events (idle eviction)
    frozen: list[str] = field(default_factory=list)  # streams judged against a frozen baseline
    baseline_mode: str = "rolling"  # or "seasonal"
    hours: list[int] = field(default_factory=list)  # seasonal roll-ups held
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # stream -> who, when
    # vector streams: each embedding's fixed dimension, and the multivariate stream's fixed
    # (input, centre, scale), set once (stream_app.vector_state)
    vector_dims: dict[str, int] = field(default_factory=dict)
    scales: list[tuple[str, float, float]] = field(default_factory=list)

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
                "ls": self.last_seen,
                "al": {k: [s.open, s.drift_streak, s.ok_streak] for k, s in self.alerts.items()},
                "fz": sorted(self.frozen),
                "bm": self.baseline_mode,
                "hr": sorted(self.hours),
                "acc": self.accepted,
                "vd": self.vector_dims,
                "mv": self.scales,
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
            float(d.get("ls", 0.0)),
            list(d.get("fz", [])),
            str(d.get("bm", "rolling")),
            list(d.get("hr", [])),
            dict(d.get("acc", {})),
            {str(k): int(v) for k, v in d.get("vd", {}).items()},
            [(str(n), float(c), float(s)) for n, c, s in d.get("mv", [])],
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


@dataclass
class Reference:
    """A fixed baseline of one stream and its sub-windows (the null's calibration data)."""

    total: Histogram
    subwindows: list[Histogram]
    window_start: int
    window_end: int
    since: int = 0  # window end at which it was taken

    def to_bytes(self) -> bytes:
        hists = {"t": self.total, **{str(i): h for i, h in enumerate(self.subwindows)}}
        header = {"ws": self.window_start, "we": self.window_end, "since": self.since}
        return pack_histograms(header, hists)

    @classmethod
    def from_bytes(cls, data: bytes) -> Reference:
        header, hists = unpack_histograms(data)
        total = hists.pop("t")
        subs = [hists[k] for k in sorted(hists, key=int)]
        return cls(total, subs, int(header["ws"]), int(header["we"]), int(header["since"]))
