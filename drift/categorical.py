"""Mergeable categorical histogram: counts per value with a cap on distinct values.

Values beyond ``max_categories`` distinct ones are counted under ``__other__``; None is missing
and shows up as ``__missing__`` in the regrouped bins. When a merge exceeds the cap, the most
frequent values are kept (ties by name, so the result does not depend on the order of merging
when the cap is not reached) and the rest fold into ``__other__``. Subtracting a value that was
folded takes it from ``__other__``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Self

import orjson

OTHER = "__other__"
MISSING = "__missing__"
_TAG = b"C\x01"


class CategoricalHistogram:
    """Counts per category of a categorical stream, plus a missing count."""

    __slots__ = ("_counts", "_missing", "max_categories")

    def __init__(self, max_categories: int = 100) -> None:
        if max_categories < 1:
            raise ValueError(f"max_categories must be >= 1, got {max_categories}")
        self.max_categories = max_categories
        self._counts: dict[str, int] = {}
        self._missing = 0

    @property
    def count(self) -> int:
        """Number of non-missing values (``__other__`` included)."""
        return sum(self._counts.values())

    @property
    def missing(self) -> int:
        return self._missing

    @property
    def is_empty(self) -> bool:
        return not self._counts and self._missing == 0

    def counts(self) -> Mapping[str, int]:
        """A copy of the counts per category (``__other__`` included, missing not)."""
        return dict(self._counts)

    def update(self, values: Sequence[str | None]) -> None:
        """Add a batch of values; None counts as missing."""
        batch: Counter[str | None] = Counter(values)
        self._missing += batch.pop(None, 0)
        self._merge((value, n) for value, n in batch.items() if value is not None)

    def _merge(self, items: Iterable[tuple[str, int]]) -> None:
        for value, n in items:
            self._counts[value] = self._counts.get(value, 0) + n
        self._fold()

    def _fold(self) -> None:
        named = [(n, value) for value, n in self._counts.items() if value != OTHER]
        if len(named) <= self.max_categories:
            return
        named.sort(key=lambda item: (-item[0], item[1]))
        folded = sum(n for n, _ in named[self.max_categories :])
        kept = {value: n for n, value in named[: self.max_categories]}
        kept[OTHER] = self._counts.get(OTHER, 0) + folded
        self._counts = kept

    def _check(self, other: object) -> CategoricalHistogram:
        if not isinstance(other, CategoricalHistogram):
            raise TypeError(f"cannot combine a categorical histogram with {type(other).__name__}")
        if other.max_categories != self.max_categories:
            raise ValueError("cannot combine histograms with different category caps")
        return other

    def __iadd__(self, other: object) -> Self:
        other = self._check(other)
        self._missing += other._missing
        self._merge(other._counts.items())
        return self

    def __isub__(self, other: object) -> Self:
        other = self._check(other)
        counts = dict(self._counts)
        for value, n in other._counts.items():
            key = value if value in counts else OTHER
            counts[key] = counts.get(key, 0) - n
        if other._missing > self._missing or any(n < 0 for n in counts.values()):
            raise ValueError("cannot subtract a histogram that is not contained in this one")
        self._counts = {value: n for value, n in counts.items() if n > 0}
        self._missing -= other._missing
        return self

    def __add__(self, other: object) -> CategoricalHistogram:
        result = self.copy()
        result += other
        return result

    def __sub__(self, other: object) -> CategoricalHistogram:
        result = self.copy()
        result -= other
        return result

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, CategoricalHistogram)
            and other.max_categories == self.max_categories
            and other._missing == self._missing
            and other._counts == self._counts
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(count={self.count}, missing={self._missing}, k={len(self._counts)})"

    def empty_like(self) -> CategoricalHistogram:
        return CategoricalHistogram(self.max_categories)

    def copy(self) -> CategoricalHistogram:
        result = self.empty_like()
        result._counts = dict(self._counts)
        result._missing = self._missing
        return result

    def to_bytes(self) -> bytes:
        """``C``, a version byte, then JSON ``{"k": cap, "m": missing, "c": {value: count}}``."""
        body = {"k": self.max_categories, "m": self._missing, "c": self._counts}
        return _TAG + orjson.dumps(body)

    @classmethod
    def from_bytes(cls, data: bytes) -> CategoricalHistogram:
        if data[:2] != _TAG:
            raise ValueError(f"not a categorical histogram (tag {data[:2]!r})")
        try:
            body = orjson.loads(data[2:])
            result = cls(int(body["k"]))
            result._missing = int(body["m"])
            result._counts = {str(value): int(n) for value, n in body["c"].items()}
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"corrupt categorical histogram: {exc}") from None
        return result
