"""The transactional loop's pieces without a broker: the state store, the changelog key layout,
what one Output produces, the DLQ copy, the offsets a transaction commits, error handling."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from confluent_kafka import KafkaError, KafkaException

from drift.topics import Topics
from stream_app.assembly import chunks
from stream_app.changelog import StateStore, decode_key, encode_key
from stream_app.processor import Output, RawRecord, Rejected
from stream_app.transactions import Batch, TransactionLost, Transactions, dead_letter, publish

pytestmark = pytest.mark.unit

TOPICS = Topics("t-")


def test_the_store_serves_writes_and_forgets_dropped_partitions():
    store = StateStore()
    store.apply({"a|meta": (0, b"A"), "b|meta": (1, b"B"), "b|b|60": (1, b"h")})
    assert store.get("a|meta") == b"A" and store.get("b|b|60") == b"h"
    store.apply({"b|b|60": (1, None)})  # a tombstone
    assert store.get("b|b|60") is None
    assert sorted(store.model_ids()) == ["a", "b"]
    store.drop([1])
    assert store.get("b|meta") is None and store.get("a|meta") == b"A"
    assert store.model_ids() == ["a"] and len(store) == 1


def test_a_key_moving_partition_is_held_once():
    store = StateStore()
    store.put(0, "m|meta", b"old")
    store.put(2, "m|meta", b"new")
    store.drop([0])
    assert store.get("m|meta") == b"new"


def test_changelog_keys_keep_faust_json_layout():
    assert encode_key("m1|b|60") == b'"m1|b|60"'
    assert decode_key(b'"m1|b|60"') == "m1|b|60"
    assert decode_key(b"m1|meta") == "m1|meta"  # written by another client: plain text


def record(partition: int, offset: int, value: bytes = b"{}") -> RawRecord:
    return RawRecord(partition, offset, b"m1", value, 1.0)


class Sent(list[tuple[str, dict[str, Any]]]):
    def __call__(self, topic: str, **kwargs: Any) -> None:
        self.append((topic, kwargs))


def test_publish_sends_state_to_the_model_partition_and_outputs_by_model_key():
    report = type(
        "Report", (), {"model_id": "m1", "results": ({"stream": "x"},), "alerts": ({"a": 1},)}
    )()
    out = Output(
        writes={"m1|meta": (3, b"meta"), "m1|b|0": (3, None)},
        reports=[report],  # type: ignore[list-item]
        baselines=[{"model_id": "m1", "action": "pin"}],
        rejected=[Rejected(record(3, 7, b"bad"), "bad_json", "no")],
    )
    sent = Sent()
    assert publish(sent, TOPICS, "cl", out, 100) == 6
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for topic, kwargs in sent:
        by_topic.setdefault(topic, []).append(kwargs)
    assert by_topic["cl"] == [
        {"key": b'"m1|meta"', "value": b"meta", "partition": 3},
        {"key": b'"m1|b|0"', "value": None, "partition": 3},
    ]
    assert by_topic[TOPICS.results] == [{"key": b"m1", "value": orjson.dumps({"stream": "x"})}]
    assert by_topic[TOPICS.alerts][0]["key"] == b"m1"
    assert orjson.loads(by_topic[TOPICS.baselines][0]["value"])["action"] == "pin"
    dlq = by_topic[TOPICS.dlq][0]
    assert dlq["value"] == b"bad" and ("offset", b"7") in dlq["headers"]


def test_a_dlq_copy_over_the_limit_is_truncated_and_says_so():
    value, headers = dead_letter(Rejected(record(0, 1, b"x" * 50), "record_too_large", "big"), 10)
    assert value == b"x" * 10
    assert ("truncated_from", b"50") in headers and ("reason", b"record_too_large") in headers


def test_a_batch_commits_the_next_offset_of_the_highest_record_per_partition():
    batch = Batch()
    for topic, partition, offset in [("e", 0, 5), ("e", 0, 3), ("e", 1, 9), ("c", 0, 2)]:
        batch.consumed(topic, partition, offset)
    assert batch.records == 4
    assert [(tp.topic, tp.partition, tp.offset) for tp in batch.positions()] == [
        ("c", 0, 3),
        ("e", 0, 6),
        ("e", 1, 10),
    ]


def test_chunks_bound_the_bytes_decoded_at_once():
    recs = [record(0, i, b"x" * 40) for i in range(5)]
    assert [len(c) for c in chunks(recs, 100)] == [2, 2, 1]
    assert [len(c) for c in chunks(recs[:1], 10)] == [1]  # a record larger alone still goes


class FakeProducer:
    def __init__(self, fail_with: KafkaError | None) -> None:
        self.fail_with, self.calls = fail_with, []  # type: list[str]

    def begin_transaction(self) -> None:
        self.calls.append("begin")

    def send_offsets_to_transaction(self, *args: Any) -> None:
        self.calls.append("offsets")
        if self.fail_with is not None:
            raise KafkaException(self.fail_with)

    def commit_transaction(self, *args: Any) -> None:
        self.calls.append("commit")

    def abort_transaction(self, *args: Any) -> None:
        self.calls.append("abort")


def fenced() -> KafkaError:
    return KafkaError(KafkaError.ILLEGAL_GENERATION, "fenced", txn_requires_abort=True)


def test_a_fenced_offset_commit_aborts_and_reports_the_transaction_lost():
    tx = Transactions({})
    tx.producer = producer = FakeProducer(fenced())  # type: ignore[assignment]
    tx.batch().consumed("e", 0, 1)
    with pytest.raises(TransactionLost):
        tx.commit(object())
    assert producer.calls == ["begin", "offsets", "abort"]
    assert tx.open is None


def test_a_clean_commit_sends_offsets_then_commits():
    tx = Transactions({})
    tx.producer = producer = FakeProducer(None)  # type: ignore[assignment]
    tx.batch().consumed("e", 0, 1)
    batch = tx.commit(object())
    assert batch is not None and batch.offsets == {("e", 0): 2}
    assert producer.calls == ["begin", "offsets", "commit"]
    assert tx.commit(object()) is None  # nothing open: nothing to do


class FencedProducer(FakeProducer):
    def abort_transaction(self, *args: Any) -> None:
        raise KafkaException(KafkaError(KafkaError._FENCED, "fenced", fatal=True))

    def flush(self, *args: Any) -> int:
        raise KafkaException(KafkaError(KafkaError._FENCED, "fenced", fatal=True))


def test_a_fenced_producer_is_replaced_by_a_new_one(monkeypatch):
    tx = Transactions({})
    tx.producer = FencedProducer(None)  # type: ignore[assignment]
    started = []
    monkeypatch.setattr(tx, "start", lambda: started.append(True))
    tx.batch().consumed("e", 0, 1)
    tx.abort("zombie")
    assert started == [True] and tx.open is None


class HangingProducer(FakeProducer):
    def send_offsets_to_transaction(self, *args: Any) -> None:
        time.sleep(60)  # past the bound (2 x 0.05 s + 5 s)


def test_a_hanging_offset_commit_is_abandoned_with_its_producer(monkeypatch):
    tx = Transactions({}, call_timeout=0.05)
    tx.producer = HangingProducer(None)  # type: ignore[assignment]
    started = []
    monkeypatch.setattr(tx, "start", lambda: started.append(True))
    tx.batch().consumed("e", 0, 1)
    with pytest.raises(TransactionLost):
        tx.commit(object())
    assert started == [True] and tx.open is None


class FencedOnProduce(FakeProducer):
    def produce(self, *args: Any, **kwargs: Any) -> None:
        raise KafkaException(KafkaError(KafkaError._STATE, "erroneous state"))


def test_producing_into_a_failed_transaction_reports_it_lost():
    tx = Transactions({})
    tx.producer = FencedOnProduce(None)  # type: ignore[assignment]
    tx.batch()
    with pytest.raises(TransactionLost):
        tx.send("t", key=b"k", value=b"v")
