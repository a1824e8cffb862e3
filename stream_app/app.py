"""The faust app: topics, the state table, the events and control agents, the idle timer.

Agents stay thin: they turn faust events into ``RawRecord``s, call the ``Processor`` and write
what it returns (table writes, results, alerts, DLQ records).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Iterator
from typing import Any

import faust
import orjson
from faust.types import TP
from mode.supervisors import CrashingSupervisor
from prometheus_client import CollectorRegistry

from drift import DetectionPolicy, EventLimits, Hysteresis
from drift.topics import Topics
from stream_app import gaps
from stream_app.config import WorkerSettings
from stream_app.metrics import WorkerMetrics, setup_sensors
from stream_app.processor import (
    DedupSettings,
    DetectionSettings,
    EventTimeBounds,
    HistogramSettings,
    Output,
    Processor,
    RawRecord,
    Rejected,
)
from stream_app.sink_lag import SinkLagProbe, sink_groups
from stream_app.windows import WindowSpec

log = logging.getLogger(__name__)

_WRITE_PARTITION: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "driftmon_write_partition", default=None
)


class ModelStateTable(faust.Table):
    """A table whose writes go to the changelog partition of the model's source partition.

    faust picks the partition from the event being processed, which ``take_events`` batches
    and timers do not have (faust #497); the processor knows each model's partition, so it
    names it. Keys of one model therefore live with the model's source partition.
    """

    def partition_for_key(self, key: Any) -> int | None:
        partition = _WRITE_PARTITION.get()
        if partition is None:
            raise RuntimeError(f"no write partition set for table key {key!r}")
        return partition


_MAX_MESSAGE_BYTES = 1_048_576  # under Kafka's default message.max.bytes (1,048,588)


def _chunks(records: list[RawRecord], max_bytes: int) -> Iterator[list[RawRecord]]:
    """Consecutive runs of ``records`` of at most ``max_bytes`` of values (at least one record).

    A batch of 2,000 records of 500 events each is a million decoded events at once (GBs);
    chunks bound that. Offsets are still acknowledged per batch, and each bucket record
    carries the offsets it holds, so a crash between chunks replays without double counting.
    """
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


class RawSchema(faust.Schema):
    """Keys and values stay the message's bytes: decoding makes the event directly instead of
    passing both through faust's codec registry for every message (the ``raw`` codec is the
    identity anyway). Sending still uses the raw serializers."""

    def compile(self, app: Any, **kwargs: Any) -> Any:
        create_event = app.create_event

        async def decode(message: Any, *, propagate: bool = False) -> Any:
            return create_event(message.key, message.value, message.headers, message)

        return decode


def _broker_url(bootstrap: str) -> str:
    return ";".join(f"kafka://{host.strip()}" for host in bootstrap.split(","))


class DriftWorker:
    """Builds the faust app and wires the processor, topics, table and metrics together."""

    def __init__(self, settings: WorkerSettings, registry: CollectorRegistry | None = None) -> None:
        self.settings = s = settings
        self.topics = Topics(s.topic_prefix)
        self.registry = registry or CollectorRegistry()
        self.metrics = WorkerMetrics(self.registry, s.max_models)
        self.app = faust.App(
            s.app_id,
            broker=_broker_url(s.kafka_bootstrap),
            store="memory://",
            topic_partitions=s.partitions,
            topic_replication_factor=1,
            processing_guarantee="at_least_once",
            consumer_auto_offset_reset="earliest",
            # web_bind is the interface faust listens on (its default is 0.0.0.0); web_host
            # only names the worker in URLs
            web_bind=s.web_host,
            web_host=s.web_host,
            web_port=s.web_port,
            # serve /metrics and the plain index only: faust's /table views read table keys
            # (model state) unauthenticated, /router, /graph and the stats pages expose the
            # cluster's layout
            web_tables_enabled=False,
            web_router_enabled=False,
            web_graph_enabled=False,
            web_stats_enabled=False,
            datadir=s.data_dir,
            table_standby_replicas=0,
            producer_acks=-1,
            producer_request_timeout=60.0,
            # a DLQ copy of a record at the size limit plus its headers exceeds faust's 1e6
            producer_max_request_size=_MAX_MESSAGE_BYTES,
            broker_commit_every=s.batch_size,
            broker_commit_interval=1.0,
            stream_wait_empty=False,
            autodiscover=False,
        )
        self.table: ModelStateTable = self.app.tables.add(  # type: ignore[assignment]
            ModelStateTable(
                self.app,
                name="model-state",
                beacon=self.app.tables.beacon,
                partitions=s.partitions,
                key_type=str,
                value_type=bytes,
                help="per-(model, bucket) histograms and model meta",
            )
        )
        raw: dict[str, Any] = {
            "schema": RawSchema(
                key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
            ),
            "partitions": s.partitions,
        }
        self.events_topic = self.app.topic(self.topics.events, **raw)
        self.control_topic = self.app.topic(self.topics.control, **raw)
        self.dlq_topic = self.app.topic(self.topics.dlq, **raw)
        self.results_topic = self.app.topic(self.topics.results, **raw)
        self.alerts_topic = self.app.topic(self.topics.alerts, **raw)
        self.baselines_topic = self.app.topic(self.topics.baselines, **raw)
        self.processor = Processor(
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
            self.table,
            EventTimeBounds(s.max_future_seconds, s.event_age_bound()),
            s.max_evaluations_per_advance,
            DedupSettings(s.dedup_horizon_seconds, s.dedup_max_ids_per_bucket),
            detection=DetectionSettings(tuple(s.fresh_buckets), s.freeze_drifted, s.seasonal_days),
        )
        self._owned: frozenset[int] | None = None  # events partitions owned; None: rebalancing
        self.deliveries = gaps.install(self.app, self.topics.events)
        self._wire()

    def _wire(self) -> None:
        app, s = self.app, self.settings

        # an agent that crashes takes the worker down (non-zero exit) so its supervisor
        # (systemd, docker, Kubernetes) restarts it and the batch is replayed; a worker that
        # kept running with a dead agent would silently count nothing
        @app.agent(self.events_topic, name="process-events", supervisor_strategy=CrashingSupervisor)
        async def process_events(stream: faust.StreamT[bytes]) -> None:
            batches = stream.take_events(  # type: ignore[attr-defined]
                s.batch_size, within=s.batch_within
            )
            async for events in batches:
                records = [
                    RawRecord(
                        e.message.partition,
                        e.message.offset,
                        e.message.key,
                        e.message.value or b"",
                        e.message.timestamp,
                    )
                    for e in events
                ]
                done = 0  # records of the batch processed and emitted
                try:
                    for chunk in _chunks(records, s.batch_max_bytes):
                        owned = await self._settled_partitions()
                        mine = [r for r in chunk if r.partition in owned]
                        started = time.perf_counter()
                        out = self.processor.process(mine, now=time.time())
                        self.deliveries.note(out.runs)
                        await self._emit_whole(out, time.perf_counter() - started)
                        done += len(chunk)
                except BaseException:
                    # stopping mid-batch (or a failure outside the processor, which never
                    # raises): take_events acknowledges the whole batch when the agent lets go
                    # of it, and faust commits what is acknowledged; records not processed
                    # must stay uncommitted, so the next owner (or restart) reads them again
                    for e in events[done:]:
                        e.message.acked = True  # faust's ack then leaves the offset alone
                    raise

        @app.agent(self.control_topic, name="control", supervisor_strategy=CrashingSupervisor)
        async def control(stream: faust.StreamT[bytes]) -> None:
            async for event in stream.events():
                if event.message.partition not in await self._settled_partitions():
                    continue  # fetched before a rebalance moved its partition: the owner has it
                try:
                    command = orjson.loads(event.message.value or b"")
                except orjson.JSONDecodeError:
                    log.warning("ignoring a control record that is not JSON")
                    continue
                try:
                    out = self.processor.control(event.message.partition, command, time.time())
                except Exception:  # a command must not stop the worker either
                    log.exception("ignoring a control command that failed: %.200r", command)
                    # its model reloads from the table (what the failed command changed in
                    # memory was not written)
                    if isinstance(command, dict):
                        self.processor.models.pop(str(command.get("model_id", "")), None)
                    continue
                await self._emit_whole(out, 0.0)

        @self.table.on_recover
        async def adopt_models() -> None:
            # after a rebalance or a restart, models of our partitions that never send again
            # still need their last window closed by the idle timer
            owned = self._events_partitions()
            stored = [
                k[: -len("|meta")]
                for k in list(self.table.keys())
                if isinstance(k, str) and k.endswith("|meta")
            ]
            adopted = self.processor.adopt(stored, owned, time.time())
            if adopted:
                log.info(
                    "took over the state of %d models of partitions %s", adopted, sorted(owned)
                )

        @app.timer(max(1.0, min(s.idle_close_seconds / 4, 30.0)))
        async def close_idle() -> None:
            if self.app.rebalancing:
                return  # models are reloaded once it settles
            await self._settled_partitions()
            out = self.processor.close_idle(time.time(), s.idle_close_seconds)
            if s.model_idle_evict_seconds > 0:
                evicted = self.processor.evict_idle(time.time(), s.model_idle_evict_seconds)
                if evicted.evicted:
                    log.info(
                        "evicted %d models idle for %.0f s: %s",
                        len(evicted.evicted),
                        s.model_idle_evict_seconds,
                        evicted.evicted[:20],
                    )
                out.merge(evicted)
            if out.reports or out.writes:
                await self._emit(out, 0.0)

        @app.timer(1.0)
        async def check_deliveries() -> None:
            if app.rebalancing or self._owned is None:
                return
            lasting = self.deliveries.lasting()
            if not lasting:
                return
            loop = asyncio.get_running_loop()
            found = {
                hole: await loop.run_in_executor(
                    None, gaps.records_in, s.kafka_bootstrap, self.topics.events, hole
                )
                for hole in lasting
            }
            await self.deliveries.confirm(app.consumer, {h for h, f in found.items() if f is False})
            skipped = {h for h, f in found.items() if f is not False}
            if skipped and not app.rebalancing and self._owned is not None:
                await self._read_again(skipped)

        if s.sink_lag_seconds > 0:
            self._sink_lag_timer(s.sink_lag_seconds)

        @app.on_partitions_revoked.connect  # type: ignore[arg-type]
        async def hand_over(app: faust.App, revoked: Any, **kwargs: Any) -> None:
            # Runs inside the revocation, before this worker rejoins the group, so before any
            # other worker can be given these partitions and restore their state. Every table
            # write made so far reaches the changelog now (faust's own flush gives up on a
            # message slower than 0.1 s); no batch is processed until the rebalance settled.
            self._owned = None
            self.deliveries.reset()
            await self._handed_over()
            await app.producer.flush()
            self.processor.reset()

        setup_sensors(app, self.registry, self.metrics)

    def _sink_lag_timer(self, interval: float) -> None:
        """Measure the sinks' backlog on a thread every ``interval`` s (Kafka admin calls block)."""
        probe: SinkLagProbe | None = None
        failing = False

        def measure() -> dict[str, int]:
            nonlocal probe
            if probe is None:
                probe = SinkLagProbe(
                    self.settings.kafka_bootstrap, sink_groups(self.settings, self.topics)
                )
            return probe.measure()

        @self.app.timer(interval)
        async def sink_lag() -> None:
            nonlocal failing
            try:
                lags = await asyncio.get_running_loop().run_in_executor(None, measure)
            except Exception as exc:  # the broker away: keep the last values, say so once
                if not failing:
                    log.warning("cannot measure the sinks' backlog: %s", exc)
                failing = True
                return
            failing = False
            for sink, lag in lags.items():
                self.metrics.sink_lag.labels(sink).set(lag)

    def _events_partitions(self) -> frozenset[int]:
        """The events partitions in the consumer's current assignment."""
        return frozenset(
            tp.partition for tp in self.app.consumer.assignment() if tp.topic == self.topics.events
        )

    async def _settled_partitions(self) -> frozenset[int]:
        """The events partitions this worker owns, once no rebalance is under way.

        Events fetched before a rebalance can reach the agent after it (faust's take buffer
        keeps them). Those of a partition now owned elsewhere are dropped unprocessed: their
        offsets are not committed by this worker (faust discards commits for revoked
        partitions), so the new owner reads them again. Processing them here instead would
        write their buckets to the changelog after the new owner restored it, and a later
        restore would see that stale value. Those of a partition still owned are processed
        after recovery, the bucket offsets skipping what was already counted."""
        while self._owned is None:
            while self.app.rebalancing:
                await asyncio.sleep(0.05)
            self._owned = self._events_partitions()
            self.deliveries.start_at(self._owned, self._committed())
        return self._owned

    def _committed(self) -> dict[Any, int | None]:
        """The committed offsets faust sought to (its consumer's own record of them)."""
        committed: dict[Any, int | None] = getattr(self.app.consumer, "_committed_offset", {})
        return dict(committed)

    async def _read_again(self, holes: set[gaps.Hole]) -> None:
        """Seek each partition with a hole back to the hole (see ``stream_app.gaps``).

        The fetcher is stopped during the seek so no fetch that started before it hands over
        records from the old position; records already queued stay and are delivered first.
        The bucket records' offset spans skip what was counted already."""
        app, consumer = self.app, self.app.consumer
        starts: dict[int, int] = {}
        for partition, first, _ in holes:
            starts[partition] = min(first, starts.get(partition, first))
        log.warning(
            "offsets %s of %s were skipped: reading them again", sorted(holes), self.topics.events
        )
        consumer.stop_flow()
        await app._fetcher.stop()
        app._fetcher.service_reset()
        try:
            for partition, first in sorted(starts.items()):
                await consumer.seek(TP(self.topics.events, partition), max(first, 0))
        finally:
            consumer.resume_flow()
            await app._fetcher.maybe_start()

    async def _emit_whole(self, out: Output, elapsed: float) -> None:
        """``_emit``, finished even when the agent is cancelled (a stop) meanwhile: the state
        written says a window was evaluated, so its results must go out with it."""
        task = asyncio.ensure_future(self._emit(out, elapsed))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            await task
            raise

    async def _emit(self, out: Output, elapsed: float) -> None:
        for key, (partition, value) in out.writes.items():
            token = _WRITE_PARTITION.set(partition)
            try:
                if value is None:
                    if key in self.table:
                        del self.table[key]
                else:
                    self.table[key] = value
            finally:
                _WRITE_PARTITION.reset(token)
        for rej in out.rejected:
            await self._dead_letter(rej)
        for report in out.reports:
            model_key = report.model_id.encode()
            for result in report.results:
                await self.results_topic.send(key=model_key, value=orjson.dumps(result))
            for alert in report.alerts:
                await self.alerts_topic.send(key=model_key, value=orjson.dumps(alert))
        for snapshot in out.baselines:
            await self.baselines_topic.send(
                key=snapshot["model_id"].encode(), value=orjson.dumps(snapshot)
            )
        self.metrics.observe(out, self._open_alerts(), elapsed)
        self.metrics.slots(len(self.processor.models))
        await self._handed_over()

    async def _handed_over(self) -> None:
        """Wait until faust's producer buffer has passed every write on to the Kafka client.

        faust flushes that buffer before it commits offsets, but its flush returns once a
        message takes over 0.1 s to pass on (``ProducerBuffer.flush_atmost``) and the commit
        goes ahead: a table write still buffered at a crash would be lost while its offsets
        are committed. Draining here, before the batch is acknowledged, closes that gap."""
        buffer = self.app.producer.buffer
        while buffer.size and buffer.state == "running":
            await buffer.flush()

    async def _dead_letter(self, rej: Rejected) -> None:
        """Send a rejected record to the DLQ: only its refused events (a partly valid array
        keeps just those, so a DLQ replay counts nothing twice), headers ``reason``, ``error``
        and the source ``partition`` / ``offset``. A record over the size limit keeps only its first
        ``max_record_bytes`` (header ``truncated_from``): the copy plus headers must fit the
        producer's and the broker's message size, or the send would crash the agent."""
        value, limit = rej.dlq_value, self.processor.limits.max_record_bytes
        headers = [
            ("reason", rej.reason.encode()),
            ("error", rej.error[:2000].encode()),
            ("partition", str(rej.record.partition).encode()),
            ("offset", str(rej.record.offset).encode()),
        ]
        if len(value) > limit:
            headers.append(("truncated_from", str(len(value)).encode()))
            value = value[:limit]
        await self.dlq_topic.send(key=rej.record.key, value=value, headers=headers)

    def _open_alerts(self) -> dict[str, int]:
        return {
            m: sum(a.open for a in rt.meta.alerts.values())
            for m, rt in self.processor.models.items()
        }
