"""Mergeable numeric histogram on fixed logarithmic buckets, and the self-describing decoder.

Buckets come from :class:`drift.mapping.LogMapping`, so two histograms with the same relative
accuracy always share boundaries: ``+`` merges windows, ``-`` removes an expired bucket from a
running sum. Storage is sparse (sorted keys and their counts). NaN, +-inf and None are missing.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from drift import sparse
from drift.categorical import CategoricalHistogram
from drift.mapping import DEFAULT_MIN_VALUE, LogMapping
from drift.vectors import VectorMoments

_HEADER = struct.Struct("<cBddqIB")  # tag, version, accuracy, min value, missing, buckets, width
_VERSION = 1
_EMPTY_KEYS: NDArray[np.int64] = np.zeros(0, dtype=np.int64)


class NumericHistogram:
    """Counts per logarithmic bucket of a numeric stream, plus a missing count."""

    __slots__ = ("_counts", "_keys", "_mapping", "_missing", "_total")

    def __init__(
        self, relative_accuracy: float = 0.01, min_value: float = DEFAULT_MIN_VALUE
    ) -> None:
        self._mapping = LogMapping(relative_accuracy, min_value)
        self._keys = _EMPTY_KEYS
        self._counts = _EMPTY_KEYS
        self._missing = 0
        self._total = 0

    @property
    def mapping(self) -> LogMapping:
        return self._mapping

    @property
    def count(self) -> int:
        """Number of valid (finite) values."""
        return self._total

    @property
    def missing(self) -> int:
        return self._missing

    @property
    def is_empty(self) -> bool:
        return self._total == 0 and self._missing == 0

    def buckets(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Sorted bucket keys and their counts (read-only views)."""
        keys, counts = self._keys.view(), self._counts.view()
        keys.flags.writeable = counts.flags.writeable = False
        return keys, counts

    def raw_buckets(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Sorted bucket keys and their counts, the held arrays themselves (never mutated in
        place by this class; callers must not either): ``buckets`` without the view cost, for
        hot loops."""
        return self._keys, self._counts

    def update(self, values: ArrayLike | Sequence[float | None]) -> None:
        """Add a batch of values; non-finite values and None count as missing."""
        x = np.asarray(values, dtype=np.float64).ravel()
        finite = np.isfinite(x)
        valid = x[finite] if x.size and not finite.all() else x
        self._missing += x.size - valid.size
        if valid.size == 0:
            return
        self._combine(*sparse.tally(self._mapping.keys(valid)), 1)

    def _combine(self, keys: NDArray[np.int64], counts: NDArray[np.int64], sign: int) -> None:
        self._keys, self._counts = sparse.combine(self._keys, self._counts, keys, counts, sign)
        self._total += sign * int(counts.sum())

    def _check(self, other: object) -> NumericHistogram:
        if not isinstance(other, NumericHistogram):
            raise TypeError(f"cannot combine a numeric histogram with {type(other).__name__}")
        if other._mapping != self._mapping:
            raise ValueError("cannot combine histograms with different bucket mappings")
        return other

    def __iadd__(self, other: object) -> Self:
        other = self._check(other)
        self._combine(other._keys, other._counts, 1)
        self._missing += other._missing
        return self

    def __isub__(self, other: object) -> Self:
        other = self._check(other)
        if other._missing > self._missing:
            raise ValueError("cannot subtract a histogram that is not contained in this one")
        self._combine(other._keys, other._counts, -1)
        self._missing -= other._missing
        return self

    def __add__(self, other: object) -> NumericHistogram:
        result = self.copy()
        result += other
        return result

    def __sub__(self, other: object) -> NumericHistogram:
        result = self.copy()
        result -= other
        return result

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, NumericHistogram)
            and other._mapping == self._mapping
            and other._missing == self._missing
            and np.array_equal(other._keys, self._keys)
            and np.array_equal(other._counts, self._counts)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(count={self._total}, missing={self._missing}, k={self._keys.size})"

    def empty_like(self) -> NumericHistogram:
        return NumericHistogram(self._mapping.relative_accuracy, self._mapping.min_value)

    @classmethod
    def from_arrays(
        cls, mapping: LogMapping, keys: NDArray[np.int64], counts: NDArray[np.int64], missing: int
    ) -> NumericHistogram:
        """A histogram holding ``keys`` (sorted, distinct) and their positive ``counts`` as they
        are (not copied: they must never be mutated afterwards); for ``drift.histogram_block``."""
        result = cls.__new__(cls)
        result._mapping, result._keys, result._counts = mapping, keys, counts
        result._missing, result._total = missing, int(counts.sum())
        return result

    def copy(self) -> NumericHistogram:
        result = NumericHistogram.__new__(NumericHistogram)
        result._mapping = self._mapping
        result._keys, result._counts = self._keys, self._counts  # arrays are never mutated
        result._missing, result._total = self._missing, self._total
        return result

    def to_bytes(self) -> bytes:
        """Header, then int32 keys, then uint32 (or uint64 when needed) counts, little-endian."""
        wide = bool(self._counts.size) and int(self._counts.max()) > 0xFFFFFFFF
        m = self._mapping
        header = _HEADER.pack(
            b"N", _VERSION, m.relative_accuracy, m.min_value, self._missing, self._keys.size, wide
        )
        counts = self._counts.astype("<u8" if wide else "<u4")
        return header + self._keys.astype("<i4").tobytes() + counts.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> NumericHistogram:
        try:
            tag, version, accuracy, min_value, missing, n, wide = _HEADER.unpack_from(data)
        except struct.error as exc:
            raise ValueError(f"truncated numeric histogram: {exc}") from None
        if tag != b"N" or version != _VERSION:
            raise ValueError(f"not a numeric histogram (tag {tag!r}, version {version})")
        width = 8 if wide else 4
        if len(data) != _HEADER.size + n * (4 + width):
            raise ValueError(f"numeric histogram of {n} buckets has {len(data)} bytes")
        result = cls(accuracy, min_value)
        keys = np.frombuffer(data, "<i4", n, _HEADER.size).astype(np.int64)
        counts = np.frombuffer(data, "<u8" if wide else "<u4", n, _HEADER.size + 4 * n)
        result._keys, result._counts = keys, counts.astype(np.int64)
        sparse.check(result._keys, result._counts)
        result._missing, result._total = missing, int(result._counts.sum())
        return result


# what a bucket keeps per stream; ``VectorMoments`` are the state of a vector stream
# (``embedding.<name>``, ``multivariate``), merged by the same ``+`` / ``-``
Histogram = NumericHistogram | CategoricalHistogram | VectorMoments


def histogram_from_bytes(data: bytes) -> Histogram:
    """Decode any stream state from its ``to_bytes`` form (the first byte names the kind)."""
    if data[:1] == b"N":
        return NumericHistogram.from_bytes(data)
    if data[:1] == b"C":
        return CategoricalHistogram.from_bytes(data)
    if data[:1] == b"V":
        return VectorMoments.from_bytes(data)
    raise ValueError(f"unknown histogram tag {data[:1]!r}")
