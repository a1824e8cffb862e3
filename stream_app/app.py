"""The worker's Kafka loop: consume a batch, process it, produce and commit in one transaction.

``DriftWorker.run`` owns one confluent-kafka consumer (group = app id, ``read_committed``,
no auto-commit, the range assignor so that events partition *p* and control partition *p* go
to the same worker) and one transactional producer (``stream_app.transactions``). A
transaction spans consumed batches for up to ``commit_interval_seconds`` or
``commit_max_records`` records; it holds the changelog writes, results, alerts, baselines,
DLQ records and the input offsets. State lives in memory (``StateStore``), restored from
the changelog when partitions are assigned. See docs/architecture.md, "Stream processor
state and exactness".
"""

from __future__ import annotations

import faulthandler
import logging
import threading
import time

import orjson
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from prometheus_client import CollectorRegistry

from drift.topics import Topics
from sinks.lag import sink_groups, watch_lag
from stream_app import changelog
from stream_app.assembly import build_processor, chunks, consumer_config, transactional_id
from stream_app.config import WorkerSettings
from stream_app.metrics import WorkerMetrics
from stream_app.processor import Output, RawRecord
from stream_app.rebalance import Rebalancing
from stream_app.transactions import TransactionLost, Transactions, producer_config, publish

log = logging.getLogger(__name__)


class DriftWorker(Rebalancing):
    """The processor, its state and the transactional consume-process-produce loop."""

    def __init__(self, settings: WorkerSettings, registry: CollectorRegistry | None = None) -> None:
        self.settings = s = settings
        self.topics = Topics(s.topic_prefix)
        self.changelog = changelog.changelog_topic(s.app_id)
        self.registry = registry or CollectorRegistry()
        self.metrics = WorkerMetrics(self.registry, s.max_models)
        self.store = changelog.StateStore()
        self.processor = build_processor(s, self.store)
        self.tx = Transactions(
            producer_config(
                s.kafka_bootstrap, transactional_id(s), int(s.transaction_timeout_seconds * 1000)
            ),
            call_timeout=30.0,
        )
        self.consumer: Consumer | None = None
        self.owned: frozenset[int] = frozenset()  # events partitions assigned and restored
        self.committed: dict[tuple[str, int], int] = {}  # next offsets committed, owned ones
        self._fetch_committed = False
        self.consumed = self.commits = 0  # since start (the loop's periodic log line)
        self._next_report = 0.0
        self._next_timer = self._next_lag = 0.0

    # --- Kafka clients -------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; a failure outside the processor aborts the open
        transaction and raises (the supervisor restarts the worker, which reads again)."""
        changelog.ensure_topic(
            self.settings.kafka_bootstrap, self.changelog, self.settings.partitions
        )
        self.tx.start()
        self.consumer = consumer = Consumer(consumer_config(self.settings))
        consumer.subscribe(
            [self.topics.events, self.topics.control],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        try:
            while not stop.is_set():
                # a step stuck for minutes (a client call that never returns) shows its stack
                faulthandler.dump_traceback_later(self.settings.transaction_timeout_seconds + 60)
                self._step(consumer)
                faulthandler.cancel_dump_traceback_later()
            self._commit()
        except BaseException:
            self.tx.abort("the worker is stopping on an error")
            raise
        finally:
            consumer.close()  # leaves the group (revoke: nothing open any more)
            self.tx.close()

    def _step(self, consumer: Consumer) -> None:
        s = self.settings
        batch = self.tx.open
        wait = s.batch_within
        if batch is not None:
            left = batch.started + s.commit_interval_seconds - time.monotonic()
            wait = max(0.0, min(wait, left))
        # librdkafka discards records fetched under an assignment that was revoked since
        # (version barrier); records of partitions not restored here are skipped in _handle
        msgs = consumer.consume(s.batch_size, timeout=wait)
        if self._fetch_committed:
            self._fetch_committed = False
            self._committed_offsets(self.owned)
        now = time.monotonic()
        try:
            if msgs:
                self.consumed += len(msgs)
                self._handle(msgs)
            if self.owned and now >= self._next_timer:
                self._next_timer = now + max(1.0, min(s.idle_close_seconds / 4, 30.0))
                self._timers()
        except TransactionLost as exc:  # found while producing: fenced or timed out
            log.warning("transaction lost (%s); partitions %s", exc, sorted(self.owned))
            self.tx.abort(f"transaction lost: {exc}")
            self._reload()
            return
        batch = self.tx.open
        if batch is not None and (
            batch.records >= s.commit_max_records
            or now - batch.started >= s.commit_interval_seconds
        ):
            self._commit()
        if now >= self._next_lag:
            self._next_lag = now + 1.0
            self._consumer_lag()
        if now >= self._next_report:
            self._next_report = now + 30.0
            log.info(
                "loop: %d records consumed, %d transactions committed, partitions %s",
                self.consumed,
                self.commits,
                sorted(self.owned),
            )
        self.tx.poll()

    # --- records ---------------------------------------------------------------------------
    def _handle(self, msgs: list[Message]) -> None:
        events, control = self.topics.events, []
        records: list[RawRecord] = []
        for msg in msgs:
            error = msg.error()
            if error is not None:
                if error.fatal():
                    raise RuntimeError(f"consumer failed: {error}")
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer: %s", error)
                continue
            topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
            assert topic is not None and partition is not None and offset is not None
            if partition not in self.owned:
                continue  # not restored here: never processed, never committed by us
            if topic == events:
                records.append(
                    RawRecord(
                        partition, offset, msg.key(), msg.value() or b"", msg.timestamp()[1] / 1000
                    )
                )
            else:
                control.append(msg)
        s = self.settings
        for chunk in chunks(records, s.batch_max_bytes):
            taken = self.tx.batch()
            for rec in chunk:  # offsets go in with the chunk's writes, not before
                taken.consumed(events, rec.partition, rec.offset)
            started = time.perf_counter()
            out = self.processor.process(chunk, now=time.time())
            self._emit(out, time.perf_counter() - started)
            # a poll of heavy records (embeddings) can take longer than the transaction
            # timeout: commit between chunks once the transaction is due, as _step would
            open_batch = self.tx.open
            if open_batch is not None and (
                open_batch.records >= s.commit_max_records
                or time.monotonic() - open_batch.started >= s.commit_interval_seconds
            ):
                commits = self.commits
                self._commit()
                if self.commits == commits:
                    return  # aborted and reloaded: the rest of the poll is read again
        for msg in control:
            topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
            assert topic is not None and partition is not None and offset is not None
            self.tx.batch().consumed(topic, partition, offset)
            self._control(msg)

    def _control(self, msg: Message) -> None:
        try:
            command = orjson.loads(msg.value() or b"")
        except orjson.JSONDecodeError:
            log.warning("ignoring a control record that is not JSON")
            return
        try:
            out = self.processor.control(msg.partition() or 0, command, time.time())
        except Exception:  # a command must not stop the worker either
            log.exception("ignoring a control command that failed: %.200r", command)
            # its model reloads from the store (what the failed command changed in memory
            # was not written)
            if isinstance(command, dict):
                self.processor.models.pop(str(command.get("model_id", "")), None)
            return
        self._emit(out, 0.0)

    def _timers(self) -> None:
        s = self.settings
        now = time.time()
        out = self.processor.close_idle(now, s.idle_close_seconds)
        if s.model_idle_evict_seconds > 0:
            evicted = self.processor.evict_idle(now, s.model_idle_evict_seconds)
            if evicted.evicted:
                log.info(
                    "evicted %d models idle for %.0f s: %s",
                    len(evicted.evicted),
                    s.model_idle_evict_seconds,
                    evicted.evicted[:20],
                )
            out.merge(evicted)
        if out.reports or out.writes:
            self._emit(out, 0.0)

    def _emit(self, out: Output, elapsed: float) -> None:
        """Apply the writes to the store and produce everything into the open transaction."""
        if out.writes or out.rejected or out.reports or out.baselines:
            self.tx.batch()
            self.store.apply(out.writes)
            publish(
                self.tx.send,
                self.topics,
                self.changelog,
                out,
                self.processor.limits.max_record_bytes,
            )
        self.metrics.observe(out, self._open_alerts(), elapsed)
        self.metrics.slots(len(self.processor.models))

    # --- transactions ------------------------------------------------------------------------
    def _commit(self, reload: bool = True) -> None:
        """Commit the open transaction; on an abort or fence, restore and read again (unless
        the partitions are being released anyway)."""
        consumer = self.consumer
        batch = self.tx.open
        if batch is None or consumer is None:
            return
        if not consumer.memberid():
            # thrown out of the group (session timeout) and not yet told: fence ourselves
            self.tx.abort("this worker is no longer a member of the group")
            if reload:
                self._reload()
            return
        # every owned partition's offset goes in, so the coordinator checks the generation
        # even for a transaction of timer writes only
        for key, offset in self.committed.items():
            batch.offsets.setdefault(key, offset)
        try:
            self.tx.commit(consumer.consumer_group_metadata())
        except TransactionLost as exc:
            log.warning("transaction lost (%s); partitions %s", exc, sorted(self.owned))
            if reload:
                self._reload()
            return
        self.commits += 1
        for key, offset in batch.offsets.items():
            if key[1] in self.owned:
                self.committed[key] = offset

    # --- gauges --------------------------------------------------------------------------
    def _consumer_lag(self) -> None:
        """End offset (high watermark, as last fetched) minus committed offset, per partition."""
        if self.consumer is None:
            return
        for (topic, partition), offset in list(self.committed.items()):
            try:
                _, high = self.consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), cached=True
                )
            except Exception:
                continue
            if high >= 0:
                self.metrics.consumer_lag.labels(topic, str(partition)).set(max(high - offset, 0))

    def _open_alerts(self) -> dict[str, int]:
        return {
            m: sum(a.open for a in rt.meta.alerts.values())
            for m, rt in self.processor.models.items()
        }


def sink_lag_loop(worker: DriftWorker, stop: threading.Event) -> None:
    """Measure the sinks' backlog every ``sink_lag_seconds`` from outside the sinks (on a
    thread: admin calls block), so a sinks process that is gone shows as a growing backlog."""
    s = worker.settings
    groups = sink_groups(s.app_id, worker.topics, s.inference_logs_enabled, s.labels_enabled)
    watch_lag(s.kafka_bootstrap, groups, worker.metrics.sink_lag, stop, s.sink_lag_seconds)
