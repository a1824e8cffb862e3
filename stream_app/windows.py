"""Event-time window geometry: which bucket belongs to the recent window, the baseline, or neither.

Evaluating at window end ``E``: recent = [E - recent, E), baseline = [E - recent - baseline,
E - recent). Spans are whole numbers of buckets, so sliding by one bucket moves exactly one
bucket into recent, one from recent into the baseline and one out of the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Side = Literal["recent", "baseline", "future", "expired"]


@dataclass(frozen=True)
class WindowSpec:
    bucket: int = 300
    recent: int = 3600
    baseline: int = 86400
    lateness: int = 60

    def __post_init__(self) -> None:
        if self.recent % self.bucket or self.baseline % self.bucket:
            raise ValueError(
                f"recent ({self.recent}s) and baseline ({self.baseline}s) must be whole "
                f"multiples of the bucket ({self.bucket}s)"
            )

    def bucket_of(self, ts: float) -> int:
        return int(ts // self.bucket) * self.bucket

    def side(self, start: int, end: int) -> Side:
        """Where the bucket starting at ``start`` sits for an evaluation at window end ``end``."""
        if start >= end:
            return "future"
        if start >= end - self.recent:
            return "recent"
        if start >= end - self.recent - self.baseline:
            return "baseline"
        return "expired"

    def closes(self, end: int, watermark: float) -> bool:
        """A window ending at ``end`` is evaluated once the watermark passes end + lateness."""
        return end + self.lateness <= watermark

    @property
    def span_buckets(self) -> int:
        return (self.recent + self.baseline) // self.bucket
