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
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from prometheus_client import CollectorRegistry

from drift import DetectionPolicy, EventLimits, Hysteresis
from drift.topics import Topics
from stream_app import changelog
from stream_app.config import WorkerSettings
from stream_app.metrics import WorkerMetrics
from stream_app.processor import (
    DedupSettings,
    DetectionSettings,
    EventTimeBounds,
    HistogramSettings,
    Output,
    Processor,
    RawRecord,
)
from stream_app.sink_lag import SinkLagProbe, sink_groups
from stream_app.transactions import TransactionLost, Transactions, producer_config, publish
from stream_app.windows import WindowSpec

log = logging.getLogger(__name__)


def chunks(records: list[RawRecord], max_bytes: int) -> Iterator[list[RawRecord]]:
    """Consecutive runs of ``records`` of at most ``max_bytes`` of values (at least one record):
    a batch of 2,000 records of 500 events each would be a million decoded events at once."""
    chunk: list[RawRecord] = []
    size = 0
    for rec in records:
        if chunk and size + len(rec.value) > max_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(rec)
        size += len(rec.value)
    if chunk:
        yield chunk


def build_processor(s: WorkerSettings, store: changelog.StateStore) -> Processor:
    return Processor(
        WindowSpec(s.bucket_seconds, s.recent_seconds, s.baseline_seconds, s.lateness_seconds),
        DetectionPolicy(
            min_recent=s.min_recent,
            min_baseline=s.min_baseline,
            n_bins=s.n_bins,
            rule=s.detection_rule,
            fdr=s.fdr,
            min_effect=s.min_effect,
        ),
        Hysteresis(s.alert_open_after, s.alert_resolve_after),
        HistogramSettings(
            s.relative_accuracy, s.max_categories, s.max_streams_per_model, s.max_models
        ),
        EventLimits(),
        store,
        EventTimeBounds(s.max_future_seconds, s.event_age_bound()),
        s.max_evaluations_per_advance,
        DedupSettings(s.dedup_horizon_seconds, s.dedup_max_ids_per_bucket),
        detection=DetectionSettings(tuple(s.fresh_buckets), s.freeze_drifted, s.seasonal_days),
    )


def transactional_id(s: WorkerSettings) -> str:
    """The setting, or ``<app id>-<host>-<web port>``: stable across restarts of one worker
    (its ``init_transactions`` then aborts what a killed predecessor left open) and distinct
    between workers (two cannot listen on one host's port)."""
    return s.transactional_id or f"{s.app_id}-{socket.gethostname()}-{s.web_port}"


class DriftWorker:
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
    def _consumer_config(self) -> dict[str, Any]:
        s = self.settings
        return {
            "bootstrap.servers": s.kafka_bootstrap,
            "group.id": s.app_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            # eager and partition-aligned: events p and control p are assigned together
            "partition.assignment.strategy": "range",
            "session.timeout.ms": int(s.session_timeout_seconds * 1000),
            "heartbeat.interval.ms": int(max(s.session_timeout_seconds / 10, 0.1) * 1000),
            "max.poll.interval.ms": int(max(300.0, 2 * s.transaction_timeout_seconds) * 1000),
            "fetch.max.bytes": 52_428_800,
            "queued.max.messages.kbytes": 262_144,
        }

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; a failure outside the processor aborts the open
        transaction and raises (the supervisor restarts the worker, which reads again)."""
        changelog.ensure_topic(
            self.settings.kafka_bootstrap, self.changelog, self.settings.partitions
        )
        self.tx.start()
        self.consumer = consumer = Consumer(self._consumer_config())
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
        batch = self.tx.batch()
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
            batch.consumed(topic, partition, offset)
            if topic == events:
                records.append(
                    RawRecord(
                        partition, offset, msg.key(), msg.value() or b"", msg.timestamp()[1] / 1000
                    )
                )
            else:
                control.append(msg)
        for chunk in chunks(records, self.settings.batch_max_bytes):
            started = time.perf_counter()
            out = self.processor.process(chunk, now=time.time())
            self._emit(out, time.perf_counter() - started)
        for msg in control:
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
        found = self.consumer.committed(tps, timeout=60)
        self.committed = {(tp.topic, tp.partition): tp.offset for tp in found if tp.offset >= 0}
        log.info(
            "committed offsets of %d partitions in %.1f s", len(tps), time.monotonic() - started
        )
        return list(found)

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
    """Measure the sinks' backlog every ``sink_lag_seconds`` (on a thread: admin calls block)."""
    s = worker.settings
    probe: SinkLagProbe | None = None
    failing = False
    while not stop.wait(s.sink_lag_seconds):
        try:
            if probe is None:
                probe = SinkLagProbe(s.kafka_bootstrap, sink_groups(s, worker.topics))
            lags = probe.measure()
        except Exception as exc:  # the broker away: keep the last values, say so once
            if not failing:
                log.warning("cannot measure the sinks' backlog: %s", exc)
            failing = True
            continue
        failing = False
        for sink, lag in lags.items():
            worker.metrics.sink_lag.labels(sink).set(lag)
