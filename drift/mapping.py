"""Value-independent logarithmic bucket mapping (DDSketch style).

A finite value ``x`` maps to an integer key that is monotone in ``x``:

* ``|x| < min_value``            -> key ``0`` (the zero bucket);
* ``x > 0``                       -> key ``i - offset`` with ``i = ceil(log(x) / log(gamma))``;
* ``x < 0``                       -> the negated key of ``|x|``.

``gamma = (1 + alpha) / (1 - alpha)`` where ``alpha`` is the relative accuracy: every value lies
within ``alpha`` (relative) of its bucket's representative value. The offset makes every non-zero
magnitude key ``>= 1``, so the sign of a key is the sign of the value and keys sort like values.
Boundaries depend only on ``alpha`` and ``min_value``, never on the data, which is what lets
histograms of any time buckets be added and subtracted.

Reference: Masson, Rim, Lee, "DDSketch: a fast and fully-mergeable quantile sketch with
relative-error guarantees", VLDB 2019.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

DEFAULT_MIN_VALUE = 1e-300


@dataclass(frozen=True, slots=True)
class LogMapping:
    """Maps values to bucket keys and keys back to value bounds."""

    relative_accuracy: float = 0.01
    min_value: float = DEFAULT_MIN_VALUE
    gamma: float = field(init=False)
    _inv_log_gamma: float = field(init=False, repr=False)
    _offset: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 < self.relative_accuracy < 1.0:
            raise ValueError(f"relative_accuracy must be in (0, 1), got {self.relative_accuracy}")
        if not 0.0 < self.min_value < 1.0:
            raise ValueError(f"min_value must be in (0, 1), got {self.min_value}")
        gamma = (1.0 + self.relative_accuracy) / (1.0 - self.relative_accuracy)
        inv = 1.0 / math.log(gamma)
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "_inv_log_gamma", inv)
        object.__setattr__(self, "_offset", math.ceil(math.log(self.min_value) * inv) - 1)

    @property
    def inverse_log_gamma(self) -> float:
        """``1 / log(gamma)``: a magnitude's key is ``ceil(log(m) * this) - key_offset``."""
        return self._inv_log_gamma

    @property
    def key_offset(self) -> int:
        return self._offset

    def keys(self, finite: NDArray[np.float64]) -> NDArray[np.int64]:
        """Keys of finite values (vectorised; the caller removes NaN and inf first)."""
        magnitude = np.abs(finite)
        index = np.log(np.maximum(magnitude, self.min_value))
        index *= self._inv_log_gamma
        np.ceil(index, out=index)
        keys = index.astype(np.int64)
        keys -= self._offset
        keys *= np.sign(finite).astype(np.int64)
        keys[magnitude < self.min_value] = 0
        return keys

    def _magnitude_upper(self, keys: NDArray[np.int64]) -> NDArray[np.float64]:
        exponent = (np.abs(keys) + self._offset).astype(np.float64)
        return np.exp(exponent / self._inv_log_gamma)

    def representatives(self, keys: NDArray[np.int64]) -> NDArray[np.float64]:
        """Representative value of each key (within ``alpha`` of every value in the bucket)."""
        upper = self._magnitude_upper(keys)
        return np.where(keys == 0, 0.0, np.sign(keys) * upper * 2.0 / (self.gamma + 1.0))

    def upper_bounds(self, keys: NDArray[np.int64]) -> NDArray[np.float64]:
        """Upper value bound of each key's bucket (used for bin labels)."""
        upper = self._magnitude_upper(keys)
        negative = np.where(keys < 0, -upper / self.gamma, upper)
        return np.where(keys == 0, self.min_value, negative)
