"""The worker's state: an in-memory table per partition, restored from its compacted changelog.

The changelog topic (``<app id>-model-state-changelog``) keeps the layout the faust worker
wrote: keys are JSON strings (``"m1|meta"``), values the state record's bytes, a tombstone
deletes, and a model's keys live in the partition number of the model's events partition.
``StateStore`` implements the processor's ``Store`` protocol (``get``); ``restore`` reads
partitions to their end with ``isolation.level=read_committed``, so only writes of committed
transactions are ever restored (an aborted or fenced transaction leaves no trace).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

log = logging.getLogger(__name__)

META_SUFFIX = "|meta"


def changelog_topic(app_id: str) -> str:
    return f"{app_id}-model-state-changelog"


def ensure_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """Create the compacted changelog topic with the events topic's partition count (kept
    when it exists)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    wanted = NewTopic(topic, partitions, 1, config={"cleanup.policy": "compact"})
    for name, future in admin.create_topics([wanted], operation_timeout=30).items():
        try:
            future.result(60)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise RuntimeError(f"could not create topic {name}: {exc}") from exc


def encode_key(key: str) -> bytes:
    return orjson.dumps(key)


def decode_key(raw: bytes) -> str:
    """A changelog key: JSON-encoded as faust wrote it (plain UTF-8 is read too)."""
    if raw[:1] == b'"':
        return str(orjson.loads(raw))
    return raw.decode()


class StateStore:
    """Model state per changelog partition: ``get`` for the processor, ``apply`` for its writes."""

    def __init__(self) -> None:
        self.partitions: dict[int, dict[str, bytes]] = {}
        self._where: dict[str, int] = {}  # key -> partition holding it

    def get(self, key: str) -> bytes | None:
        partition = self._where.get(key)
        return None if partition is None else self.partitions[partition].get(key)

    def put(self, partition: int, key: str, value: bytes | None) -> None:
        held = self._where.get(key)
        if held is not None and held != partition:
            self.partitions[held].pop(key, None)
        if value is None:
            self._where.pop(key, None)
            self.partitions.get(partition, {}).pop(key, None)
        else:
            self.partitions.setdefault(partition, {})[key] = value
            self._where[key] = partition

    def apply(self, writes: dict[str, tuple[int, bytes | None]]) -> None:
        for key, (partition, value) in writes.items():
            self.put(partition, key, value)

    def drop(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            for key in self.partitions.pop(partition, {}):
                if self._where.get(key) == partition:
                    del self._where[key]

    def model_ids(self) -> list[str]:
        """Models with a stored meta record, in every partition held."""
        return [k[: -len(META_SUFFIX)] for k in self._where if k.endswith(META_SUFFIX)]

    def __len__(self) -> int:
        return len(self._where)


def _reader(bootstrap: str, isolation: str = "read_committed") -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"driftmon-restore-{uuid.uuid4().hex[:8]}",  # assign() only, no commits
            "enable.auto.commit": False,
            "isolation.level": isolation,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 20,  # a restore waits on the broker, not on a full fetch
        }
    )


def high_watermarks(bootstrap: str, topic: str, partitions: Iterable[int]) -> dict[int, int]:
    """The end of each partition holding records, open transactions included (a
    read_committed consumer's watermark query answers the last stable offset instead)."""
    probe = _reader(bootstrap, "read_uncommitted")
    try:
        ends = {}
        for p in partitions:
            low, high = _watermarks(probe, TopicPartition(topic, p))
            if high > low:
                ends[p] = high
        return ends
    finally:
        probe.close()


_NOT_YET = {
    KafkaError._UNKNOWN_PARTITION,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError._TIMED_OUT,
}


def _watermarks(probe: Consumer, tp: TopicPartition, wait: float = 60.0) -> tuple[int, int]:
    """A partition's watermarks, waiting while a just-created topic has no leader yet."""
    deadline = time.monotonic() + wait
    while True:
        try:
            low, high = probe.get_watermark_offsets(tp, timeout=10)
            return int(low), int(high)
        except KafkaException as exc:
            if exc.args[0].code() not in _NOT_YET or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def read_partitions(
    bootstrap: str, topic: str, partitions: Iterable[int], timeout: float
) -> Iterator[tuple[int, bytes, bytes | None]]:
    """(partition, key, value) of every committed record of ``partitions``, to their end.

    The end is the high watermark when reading starts, open transactions included. A
    read_committed reader cannot pass the last stable offset, so an open transaction of
    another worker (a zombie's, a killed worker's) holds the restore back until it is
    committed or aborted (at the latest after its ``transaction.timeout.ms``): what is
    restored is never changed by it later."""
    ends = high_watermarks(bootstrap, topic, partitions)
    if not ends:
        return
    reader = _reader(bootstrap)
    try:
        reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        deadline = time.monotonic() + timeout
        while ends:
            if time.monotonic() > deadline:
                raise TimeoutError(f"changelog {topic} not read to its end: {ends}")
            for msg in reader.consume(10_000, timeout=0.5):
                error = msg.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        log.warning("restoring %s: %s", topic, error)
                    continue
                key, partition = msg.key(), msg.partition()
                if key is not None and partition is not None:
                    yield partition, key, msg.value()
            # control records and aborted data move the position without a message
            for tp in reader.position([TopicPartition(topic, p) for p in list(ends)]):
                if tp.offset >= ends[tp.partition]:
                    del ends[tp.partition]
    finally:
        reader.close()


def restore(
    store: StateStore, bootstrap: str, topic: str, partitions: Iterable[int], timeout: float
) -> int:
    """Replace the state of ``partitions`` in ``store`` with the changelog's; keys restored."""
    partitions = sorted(set(partitions))
    store.drop(partitions)
    for partition, key, value in read_partitions(bootstrap, topic, partitions, timeout):
        store.put(partition, decode_key(key), value)
    return sum(len(store.partitions.get(p, {})) for p in partitions)
