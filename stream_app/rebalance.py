"""Partitions coming and going: state restored from the changelog on assignment, released on
revocation or loss, and everything read again after an aborted transaction.

``Rebalancing`` is the part of ``stream_app.app.DriftWorker`` that the consumer's rebalance
callbacks drive (they run inside ``consume()``); split off so that the loop reads on its own.
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

from drift.topics import Topics
from stream_app import changelog
from stream_app.changelog import StateStore
from stream_app.config import WorkerSettings
from stream_app.metrics import WorkerMetrics
from stream_app.processor import Processor
from stream_app.transactions import Transactions

log = logging.getLogger(__name__)


class Rebalancing:
    """Assignment, revocation, loss and reload; the worker supplies the state and clients."""

    settings: WorkerSettings
    topics: Topics
    changelog: str
    store: StateStore
    processor: Processor
    tx: Transactions
    metrics: WorkerMetrics
    consumer: Consumer | None
    owned: frozenset[int]  # events partitions assigned and restored
    committed: dict[tuple[str, int], int]  # next offsets committed, owned ones
    _fetch_committed: bool

    def _commit(self, reload: bool = True) -> None:
        raise NotImplementedError

    def _reload(self) -> None:
        """Drop what the aborted transaction left in memory and read it all again: state from
        the changelog, records from the committed offsets."""
        consumer = self.consumer
        assert consumer is not None
        owned = self.owned
        self.processor.reset()
        self._restore(owned)
        for tp in self._committed_offsets(owned):
            offset = tp.offset if tp.offset >= 0 else -2  # OFFSET_BEGINNING
            try:
                consumer.seek(TopicPartition(tp.topic, tp.partition, offset))
            except Exception as exc:  # not assigned any more: the revoke follows
                log.warning("cannot seek %s [%d]: %s", tp.topic, tp.partition, exc)

    def _committed_offsets(self, partitions: frozenset[int]) -> list[TopicPartition]:
        assert self.consumer is not None
        tps = [
            TopicPartition(t, p)
            for t in (self.topics.events, self.topics.control)
            for p in partitions
        ]
        if not tps:
            return []
        started = time.monotonic()
        found = self._ask_committed(tps)
        self.committed = {(tp.topic, tp.partition): tp.offset for tp in found if tp.offset >= 0}
        log.info(
            "committed offsets of %d partitions in %.1f s", len(tps), time.monotonic() - started
        )
        return list(found)

    def _ask_committed(self, tps: list[TopicPartition], attempts: int = 5) -> list[TopicPartition]:
        """The group's committed offsets, asked again while the coordinator cannot answer.

        Right after a broker restart the coordinator may time out; a reload cannot go on
        without these offsets (it seeks back to them), and the worker cannot count anything
        meanwhile, so it waits for them instead of exiting. After ``attempts`` failures (5 min)
        the error stops the worker (its restart is exact)."""
        assert self.consumer is not None
        for attempt in range(1, attempts + 1):
            try:
                return list(self.consumer.committed(tps, timeout=60))
            except KafkaException as exc:
                error = exc.args[0]
                if attempt == attempts or error.fatal():
                    raise
                log.warning("committed offsets not answered (%s): asking again", error)
                time.sleep(1.0)
        raise AssertionError("unreachable")

    def _restore(self, partitions: frozenset[int]) -> None:
        s = self.settings
        started = time.monotonic()
        keys = changelog.restore(
            self.store,
            s.kafka_bootstrap,
            self.changelog,
            partitions,
            timeout=s.transaction_timeout_seconds + 120,
        )
        adopted = self.processor.adopt(self.store.model_ids(), partitions, time.time())
        self.owned = partitions
        log.info(
            "restored %d keys of partitions %s in %.1f s; %d models adopted",
            keys,
            sorted(partitions),
            time.monotonic() - started,
            adopted,
        )

    # --- rebalances (served inside consume()) --------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        mine = frozenset(tp.partition for tp in partitions if tp.topic == self.topics.events)
        self.processor.reset()
        self.store.drop(list(self.store.partitions))
        self._restore(mine)
        # the committed offsets are fetched after the callback (consumer calls that talk to
        # the group coordinator may wait on the rebalance under way)
        self._fetch_committed = True
        self.metrics.slots(len(self.processor.models))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # eager protocol: the group waits for this member to rejoin, so its generation is
        # still current and the open transaction (work on these partitions) can commit
        self._commit(reload=False)
        self._release()

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # the partitions may already be owned elsewhere: nothing more of ours may show
        self.tx.abort("the assignment was lost")
        self._release()

    def _release(self) -> None:
        self.owned = frozenset()
        self.committed = {}
        self.processor.reset()
        self.store.drop(list(self.store.partitions))
        self.metrics.consumer_lag.clear()
