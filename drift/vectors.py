"""Mergeable moments of vectors (embeddings, a model's numeric input vector) and the fixed
random directions they are projected on.

``VectorMoments`` keeps, per bucket, the count and the per-dimension sum and sum of squares of
the vectors, optionally the sums of the pairwise products (a covariance sketch, for a short
vector such as a model's standardised numeric inputs). Sums are fixed-point integers
(``value * 2**20`` rounded, int64), so ``+`` and ``-`` are exact, in any order: a running window
sum that adds and removes buckets for days equals the sum of the buckets it holds, and state
merged from buckets in any order equals the state of the concatenated data. With values bounded
by ``MAX_ABS`` (100; the event schema refuses larger ones) a sum of squares holds at least
8.7e8 vectors before int64 could overflow (``capacity``); a day at 100,000 inferences an hour is
2.4e6.

``directions(dim, k)`` are ``k`` unit vectors drawn from a fixed seed per dimension, the same on
every worker and every version: they come from PCG64's raw bit stream (stable by numpy's
policy, unlike the ``Generator`` distributions) through Box-Muller, written out here.
"""

from __future__ import annotations

import struct
from typing import Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
SCALE = float(2**20)
MAX_ABS = 100.0
_SEED = 0x64726966  # "drif"
_HEADER = struct.Struct("<cBIqB")  # tag, version, dim, count, has cross products
_VERSION = 1


def capacity(max_abs: float = MAX_ABS) -> int:
    """Vectors a sum of squares holds before int64 could overflow at ``|value| <= max_abs``."""
    return int(np.iinfo(np.int64).max // (max_abs * max_abs * SCALE))


def _fixed(values: FloatArray) -> IntArray:
    return np.rint(values * SCALE).astype(np.int64)


class VectorMoments:
    """Count, sum and sum of squares per dimension (and, with ``cross``, of the pairwise
    products, upper triangle) of vectors of one dimension, as fixed-point integers."""

    __slots__ = ("_count", "_cross", "_sq", "_sum", "dim")

    def __init__(self, dim: int, cross: bool = False) -> None:
        if dim < 1:
            raise ValueError(f"a vector needs at least one dimension, not {dim}")
        self.dim = dim
        self._count = 0
        self._sum = np.zeros(dim, np.int64)
        self._sq = np.zeros(dim, np.int64)
        self._cross: IntArray | None = np.zeros(dim * (dim - 1) // 2, np.int64) if cross else None

    @property
    def count(self) -> int:
        return self._count

    @property
    def missing(self) -> int:
        return 0

    @property
    def is_empty(self) -> bool:
        return self._count == 0

    @property
    def has_cross(self) -> bool:
        return self._cross is not None

    def update(self, vectors: ArrayLike) -> None:
        """Add the rows of an (n, dim) array of finite values."""
        x = np.asarray(vectors, np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected vectors of dimension {self.dim}, got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("vectors must be finite")
        self._count += x.shape[0]
        self._sum += _fixed(x).sum(0)
        self._sq += _fixed(x * x).sum(0)
        if self._cross is not None:
            i, j = np.triu_indices(self.dim, 1)
            self._cross += _fixed(x[:, i] * x[:, j]).sum(0)

    def _check(self, other: object) -> VectorMoments:
        if not isinstance(other, VectorMoments):
            raise TypeError(f"cannot combine VectorMoments with {type(other).__name__}")
        if other.dim != self.dim or other.has_cross != self.has_cross:
            raise ValueError(
                f"vector moments differ: dim {self.dim} / {other.dim}, "
                f"cross {self.has_cross} / {other.has_cross}"
            )
        return other

    def _combine(self, other: VectorMoments, sign: int) -> None:
        self._count += sign * other._count
        self._sum = self._sum + sign * other._sum
        self._sq = self._sq + sign * other._sq
        if self._cross is not None and other._cross is not None:
            self._cross = self._cross + sign * other._cross

    def __iadd__(self, other: object) -> Self:
        self._combine(self._check(other), 1)
        return self

    def __isub__(self, other: object) -> Self:
        other = self._check(other)
        if other._count > self._count:
            raise ValueError("cannot remove more vectors than are held")
        self._combine(other, -1)
        return self

    def __add__(self, other: object) -> VectorMoments:
        out = self.copy()
        out += other
        return out

    def __sub__(self, other: object) -> VectorMoments:
        out = self.copy()
        out -= other
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VectorMoments):
            return NotImplemented
        same_cross = (self._cross is None and other._cross is None) or (
            self._cross is not None
            and other._cross is not None
            and np.array_equal(self._cross, other._cross)
        )
        return (
            self.dim == other.dim
            and self._count == other._count
            and np.array_equal(self._sum, other._sum)
            and np.array_equal(self._sq, other._sq)
            and same_cross
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"VectorMoments(dim={self.dim}, count={self._count}, cross={self.has_cross})"

    def empty_like(self) -> VectorMoments:
        return VectorMoments(self.dim, self.has_cross)

    def copy(self) -> VectorMoments:
        out = VectorMoments.__new__(VectorMoments)
        out.dim, out._count = self.dim, self._count
        out._sum, out._sq, out._cross = self._sum, self._sq, self._cross  # never mutated in place
        return out

    def mean(self) -> FloatArray:
        return self._sum / SCALE / max(self._count, 1)

    def variance(self) -> FloatArray:
        """Per-dimension population variance."""
        n = max(self._count, 1)
        m = self.mean()
        return np.maximum(self._sq / SCALE / n - m * m, 0.0)

    def covariance(self) -> FloatArray:
        """The (dim, dim) population covariance (needs ``cross``)."""
        if self._cross is None:
            raise ValueError("these moments keep no cross products")
        n = max(self._count, 1)
        m = self.mean()
        out = np.zeros((self.dim, self.dim))
        i, j = np.triu_indices(self.dim, 1)
        out[i, j] = self._cross / SCALE / n - m[i] * m[j]
        out[j, i] = out[i, j]
        out[np.diag_indices(self.dim)] = self.variance()
        return out

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(b"V", _VERSION, self.dim, self._count, self.has_cross)
        parts = [self._sum.astype("<i8").tobytes(), self._sq.astype("<i8").tobytes()]
        if self._cross is not None:
            parts.append(self._cross.astype("<i8").tobytes())
        return header + b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> VectorMoments:
        try:
            tag, version, dim, count, cross = _HEADER.unpack_from(data)
        except struct.error as exc:
            raise ValueError(f"truncated vector moments: {exc}") from None
        if tag != b"V" or version != _VERSION:
            raise ValueError(f"not vector moments (tag {tag!r}, version {version})")
        pairs = dim * (dim - 1) // 2 if cross else 0
        if dim < 1 or count < 0 or len(data) != _HEADER.size + 8 * (2 * dim + pairs):
            raise ValueError(f"vector moments of dimension {dim} have {len(data)} bytes")
        out = cls(dim, bool(cross))
        out._count = count
        out._sum = np.frombuffer(data, "<i8", dim, _HEADER.size).astype(np.int64)
        out._sq = np.frombuffer(data, "<i8", dim, _HEADER.size + 8 * dim).astype(np.int64)
        if cross:
            offset = _HEADER.size + 16 * dim
            out._cross = np.frombuffer(data, "<i8", pairs, offset).astype(np.int64)
        return out


def directions(dim: int, k: int) -> FloatArray:
    """``k`` unit vectors of dimension ``dim``, the same for a given ``(dim, k)`` everywhere."""
    if dim < 1 or k < 1:
        raise ValueError(f"need dim >= 1 and k >= 1, not {dim}, {k}")
    n = dim * k
    raw = np.random.PCG64(np.random.SeedSequence([_SEED, dim])).random_raw(2 * ((n + 1) // 2))
    u = ((raw >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53  # (0, 1), never 0
    u1, u2 = u[0::2], u[1::2]
    radius = np.sqrt(-2.0 * np.log(u1))
    normal = np.concatenate([radius * np.cos(2 * np.pi * u2), radius * np.sin(2 * np.pi * u2)])
    out = normal[:n].reshape(k, dim)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def projection_names(stream: str, k: int) -> list[str]:
    """The numeric streams holding the projections of ``stream``: ``<stream>.p00`` …"""
    return [f"{stream}.p{j:02d}" for j in range(k)]
