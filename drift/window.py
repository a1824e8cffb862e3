"""Running sums of the recent and baseline windows, per stream.

The stream processor adds a closed time bucket to ``recent``, moves buckets that age out of the
recent span to the baseline, and removes buckets that age out of the baseline. Each move is one
histogram addition or subtraction per stream, so an evaluation reads two ready sums instead of
re-adding hundreds of buckets. A stream whose histogram kind conflicts with the kind already
held (numeric versus categorical, or a different mapping / cap) is ignored for that bucket, on
add and on remove alike, so the sums stay consistent.

Numeric histograms are summed lazily: an add or remove of a numeric stream whose sum is numeric
with the same mapping (or not held yet) is queued, and a stream's queue is folded when the sum
is read (``streams``, ``recent``, ``baseline``), when something else arrives for it, or when it
holds ``MAX_QUEUED`` operations (memory stays bounded while no window closes). The fold replays
the queue in order with the eager rules (a remove of an unheld stream is skipped, a stream left
empty is dropped, a remove not contained raises ValueError) and adds each run of adds in one
sort-and-reduce: integer counts, so the sums are exactly those of adding one by one. The worker
adds every batch's counts to a sum and reads it once per window end: one fold per window instead
of a merge per batch and stream.
"""

from __future__ import annotations

from collections.abc import Mapping

from drift import sparse
from drift.categorical import CategoricalHistogram
from drift.histogram import Histogram, NumericHistogram
from drift.vectors import VectorMoments

Bucket = Mapping[str, Histogram]


def _compatible(held: Histogram, incoming: Histogram) -> bool:
    if isinstance(held, NumericHistogram) and isinstance(incoming, NumericHistogram):
        return held.mapping == incoming.mapping
    if isinstance(held, CategoricalHistogram) and isinstance(incoming, CategoricalHistogram):
        return held.max_categories == incoming.max_categories
    if isinstance(held, VectorMoments) and isinstance(incoming, VectorMoments):
        return held.dim == incoming.dim and held.has_cross == incoming.has_cross
    return False


MAX_QUEUED = 64  # queued operations per stream and side before a fold


def _sum_of(held: NumericHistogram | None, adds: list[NumericHistogram]) -> NumericHistogram:
    """``held`` (None: nothing) plus every histogram of ``adds`` (same mapping), in one pass."""
    parts = [held, *adds] if held is not None else adds
    if len(parts) == 1:
        return parts[0].copy()
    keys, counts = sparse.total(
        [p.raw_buckets()[0] for p in parts], [p.raw_buckets()[1] for p in parts]
    )
    missing = sum(p.missing for p in parts)
    return NumericHistogram.from_arrays(parts[0].mapping, keys, counts, missing)


class _Side:
    """One window's sums: folded histograms, and per stream the numeric operations queued."""

    def __init__(self) -> None:
        self.sums: dict[str, Histogram] = {}
        self.queued: dict[str, list[tuple[int, NumericHistogram]]] = {}

    def apply(self, bucket: Bucket, sign: int) -> None:
        for stream, histogram in bucket.items():
            queue = self.queued.get(stream)
            if isinstance(histogram, NumericHistogram) and self._queueable(stream, histogram):
                if queue is None:
                    queue = self.queued[stream] = []
                queue.append((sign, histogram.copy()))  # the bucket's may change later
                if len(queue) >= MAX_QUEUED:
                    self.fold(stream)
                continue
            if queue:
                self.fold(stream)
            if sign > 0:
                self._add(stream, histogram)
            else:
                self._remove(stream, histogram)

    def _queueable(self, stream: str, histogram: NumericHistogram) -> bool:
        queue = self.queued.get(stream)
        if queue:
            return queue[0][1].mapping == histogram.mapping
        held = self.sums.get(stream)
        return held is None or _compatible(held, histogram)

    def _add(self, stream: str, histogram: Histogram) -> None:
        held = self.sums.get(stream)
        if held is None:
            self.sums[stream] = histogram.copy()
        elif _compatible(held, histogram):
            held += histogram

    def _remove(self, stream: str, histogram: Histogram) -> None:
        held = self.sums.get(stream)
        if held is None or not _compatible(held, histogram):
            return
        held -= histogram
        if held.is_empty:
            del self.sums[stream]

    def fold(self, stream: str) -> None:
        """Replay ``stream``'s queue with the eager rules, each run of adds summed at once."""
        queue = self.queued.pop(stream, None)
        adds: list[NumericHistogram] = []
        for sign, histogram in queue or ():
            if sign > 0:
                adds.append(histogram)
                continue
            if adds:
                self._settle(stream, adds)
                adds = []
            self._remove(stream, histogram)
        if adds:
            self._settle(stream, adds)

    def _settle(self, stream: str, adds: list[NumericHistogram]) -> None:
        held = self.sums.get(stream)
        assert held is None or isinstance(held, NumericHistogram)  # else never queued
        self.sums[stream] = _sum_of(held, adds)

    def fold_all(self) -> None:
        for stream in list(self.queued):
            self.fold(stream)


class WindowSums:
    """Recent and baseline sums of histograms keyed by stream name."""

    def __init__(self) -> None:
        self._recent = _Side()
        self._baseline = _Side()

    def add_to_recent(self, bucket: Bucket) -> None:
        self._recent.apply(bucket, 1)

    def remove_from_recent(self, bucket: Bucket) -> None:
        self._recent.apply(bucket, -1)

    def add_to_baseline(self, bucket: Bucket) -> None:
        self._baseline.apply(bucket, 1)

    def remove_from_baseline(self, bucket: Bucket) -> None:
        self._baseline.apply(bucket, -1)

    def streams(self) -> list[str]:
        """Every stream held on either side, sorted."""
        self._recent.fold_all()
        self._baseline.fold_all()
        return sorted(self._recent.sums.keys() | self._baseline.sums.keys())

    def _side(self, stream: str, side: _Side, other: _Side) -> Histogram:
        side.fold(stream)
        other.fold(stream)
        if stream in side.sums:
            return side.sums[stream].copy()
        if stream in other.sums:
            return other.sums[stream].empty_like()
        raise KeyError(f"unknown stream {stream!r}")

    def recent(self, stream: str) -> Histogram:
        """The recent sum (an empty histogram of the right kind when only the baseline has it)."""
        return self._side(stream, self._recent, self._baseline)

    def baseline(self, stream: str) -> Histogram:
        """The baseline sum (an empty histogram of the right kind when only recent has it)."""
        return self._side(stream, self._baseline, self._recent)
