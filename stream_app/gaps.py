"""Records faust never delivered, and offsets it would commit without delivering them.

Around a rebalance, faust (0.15) can skip records of a partition: a fetch that started before
the seek to the committed offsets hands over records from the old position, the read offset
jumps past records that were never delivered, and the same records read again from the
committed offset are then dropped as already read. faust also treats such a jump as a *gap*
(offsets holding no record, as transaction markers do) and commits past it, so the skipped
events would be lost for good (seen in the scale-out test: 22 records of one partition).

Two guards:
- ``Deliveries`` notes the offsets the agent received per partition. A hole below the highest
  one that is still there a check later, its lower edge not moving (normal delivery is in
  order; a reordering after a rebalance fills within milliseconds), is looked up on the broker
  (``records_in``): if it holds records they were skipped, and the worker seeks the partition
  back to the hole; the bucket records' offset spans skip what was counted already. A hole
  without records (transaction markers) is confirmed and left alone. Deliveries are noted
  from the committed offset on (from the log start without one): faust also drops records
  fetched before it is ready, and with no committed offset commits past a skipped head.
- faust's gap marking of the events topic is held back until the gap is confirmed, and its
  commits are clipped at the first open hole (faust's own check lets a single missing record
  at the head of its acknowledged offsets through), so the committed offsets never pass a
  record the worker did not process.
"""

from __future__ import annotations

import logging
import time
from itertools import pairwise
from typing import Any

from confluent_kafka import Consumer as ConfluentConsumer
from confluent_kafka import KafkaError, TopicPartition
from faust.transport.consumer import Consumer
from faust.types import TP

from stream_app.state import Spans, merge_spans

log = logging.getLogger(__name__)

_faust_add_gap = Consumer._add_gap

Hole = tuple[int, int, int]  # partition, first and last missing offset


class Deliveries:
    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.spans: dict[int, Spans] = {}
        self.confirmed: set[Hole] = set()
        self._last_seen: set[Hole] = set()
        self._held: dict[int, list[tuple[TP, int, int]]] = {}  # faust gaps held back

    def note(self, runs: dict[int, Spans]) -> None:
        for partition, taken in runs.items():
            self.spans[partition] = merge_spans(self.spans.get(partition, []), taken)

    def reset(self) -> None:
        """Delivery starts again from the committed offsets (a rebalance, a re-read)."""
        self.spans.clear()
        self._last_seen.clear()
        self._held.clear()

    def start_at(self, partitions: frozenset[int], committed: dict[TP, int | None]) -> None:
        """Delivery of ``partitions`` resumes at their committed offsets (from the start of
        the log without one): the offset before counts as delivered, so records skipped
        right at the start are a hole too (faust drops records fetched before it is ready,
        and with no committed offset its commit check does not look at the head at all)."""
        at = {tp.partition: o for tp, o in committed.items() if tp.topic == self.topic and o}
        for partition in partitions:
            start = at.get(partition) or 0
            self.note({partition: [(start - 1, start - 1)]})

    def holes(self) -> set[Hole]:
        return {
            (p, last + 1, first - 1)
            for p, spans in self.spans.items()
            for (_, last), (first, _) in pairwise(spans)
        } - self.confirmed

    def commit_limit(self, partition: int) -> int | None:
        """The first offset of the partition's first open hole: commits stop there."""
        starts = [first for p, first, _ in self.holes() if p == partition]
        return min(starts) if starts else None

    def clip(self, offsets: dict[TP, int]) -> dict[TP, int]:
        out = {}
        for tp, offset in offsets.items():
            limit = self.commit_limit(tp.partition) if tp.topic == self.topic else None
            out[tp] = offset if limit is None else min(offset, limit)
        return out

    def lasting(self) -> set[Hole]:
        """Holes that were already there at the previous call. A hole returned is given two
        more checks (the re-read it leads to) before it is returned again."""
        holes = self.holes()
        lasting = holes & self._last_seen
        self._last_seen = holes - lasting
        return lasting

    async def confirm(self, consumer: Any, empty: set[Hole]) -> None:
        """``empty`` hold no records: leave them, and pass faust's gaps over them on."""
        if empty:
            log.info("offsets %s of %s hold no records: left as gaps", sorted(empty), self.topic)
        self.confirmed |= empty
        for partition, first, last in empty:
            for tp, a, b in self._held.get(partition, []):
                if first <= a and b <= last + 1:
                    await _faust_add_gap(consumer, tp, a, b)

    async def on_gap(self, consumer: Any, tp: TP, offset_from: int, offset_to: int) -> None:
        if tp.topic != self.topic or any(
            p == tp.partition and first <= offset_from and offset_to <= last + 1
            for p, first, last in self.confirmed
        ):
            await _faust_add_gap(consumer, tp, offset_from, offset_to)
        else:
            self._held.setdefault(tp.partition, []).append((tp, offset_from, offset_to))


def records_in(bootstrap: str, topic: str, hole: Hole, timeout: float = 10.0) -> bool | None:
    """Whether offsets ``first..last`` of a partition hold any record (None: no answer)."""
    partition, first, last = hole
    consumer = ConfluentConsumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "driftmon-hole-probe",  # never commits; assign() needs no group
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",  # offsets before the log start hold no record
        }
    )
    try:
        consumer.assign([TopicPartition(topic, partition, first)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            error, offset = msg.error(), msg.offset()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    return False
                continue
            return offset is not None and first <= offset <= last
        return None
    finally:
        consumer.close()


async def _add_gap(self: Any, tp: TP, offset_from: int, offset_to: int) -> None:
    deliveries: Deliveries | None = getattr(self.app, "driftmon_deliveries", None)
    if deliveries is None:
        await _faust_add_gap(self, tp, offset_from, offset_to)
    else:
        await deliveries.on_gap(self, tp, offset_from, offset_to)


_faust_committable = Consumer._filter_committable_offsets


def _filter_committable_offsets(self: Any, tps: Any) -> dict[TP, int]:
    offsets: dict[TP, int] = _faust_committable(self, tps)
    deliveries: Deliveries | None = getattr(self.app, "driftmon_deliveries", None)
    if deliveries is None:
        return offsets
    clipped = deliveries.clip(offsets)
    return {tp: o for tp, o in clipped.items() if self._should_commit(tp, o)}


def install(app: Any, topic: str) -> Deliveries:
    """Track the deliveries of ``topic``; hold back faust's gap marking and clip its commits."""
    Consumer._add_gap = _add_gap  # type: ignore[method-assign]
    Consumer._filter_committable_offsets = _filter_committable_offsets  # type: ignore[method-assign]
    deliveries = Deliveries(topic)
    app.driftmon_deliveries = deliveries
    return deliveries
