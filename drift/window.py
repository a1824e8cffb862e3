"""Running sums of the recent and baseline windows, per stream.

The stream processor adds a closed time bucket to ``recent``, moves buckets that age out of the
recent span to the baseline, and removes buckets that age out of the baseline. Each move is one
histogram addition or subtraction per stream, so an evaluation reads two ready sums instead of
re-adding hundreds of buckets. A stream whose histogram kind conflicts with the kind already
held (numeric versus categorical, or a different mapping / cap) is ignored for that bucket, on
add and on remove alike, so the sums stay consistent.
"""

from __future__ import annotations

from collections.abc import Mapping

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


class WindowSums:
    """Recent and baseline sums of histograms keyed by stream name."""

    def __init__(self) -> None:
        self._recent: dict[str, Histogram] = {}
        self._baseline: dict[str, Histogram] = {}

    @staticmethod
    def _add(sums: dict[str, Histogram], bucket: Bucket) -> None:
        for stream, histogram in bucket.items():
            held = sums.get(stream)
            if held is None:
                sums[stream] = histogram.copy()
            elif _compatible(held, histogram):
                held += histogram

    @staticmethod
    def _remove(sums: dict[str, Histogram], bucket: Bucket) -> None:
        for stream, histogram in bucket.items():
            held = sums.get(stream)
            if held is None or not _compatible(held, histogram):
                continue
            held -= histogram
            if held.is_empty:
                del sums[stream]

    def add_to_recent(self, bucket: Bucket) -> None:
        self._add(self._recent, bucket)

    def remove_from_recent(self, bucket: Bucket) -> None:
        self._remove(self._recent, bucket)

    def add_to_baseline(self, bucket: Bucket) -> None:
        self._add(self._baseline, bucket)

    def remove_from_baseline(self, bucket: Bucket) -> None:
        self._remove(self._baseline, bucket)

    def streams(self) -> list[str]:
        """Every stream held on either side, sorted."""
        return sorted(self._recent.keys() | self._baseline.keys())

    def _side(
        self, stream: str, side: dict[str, Histogram], other: dict[str, Histogram]
    ) -> Histogram:
        if stream in side:
            return side[stream].copy()
        if stream in other:
            return other[stream].empty_like()
        raise KeyError(f"unknown stream {stream!r}")

    def recent(self, stream: str) -> Histogram:
        """The recent sum (an empty histogram of the right kind when only the baseline has it)."""
        return self._side(stream, self._recent, self._baseline)

    def baseline(self, stream: str) -> Histogram:
        """The baseline sum (an empty histogram of the right kind when only recent has it)."""
        return self._side(stream, self._baseline, self._recent)
