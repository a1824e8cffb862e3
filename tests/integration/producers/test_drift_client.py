"""DriftClient against a real Kafka broker: delivery, batching, broker down, nothing dropped."""

from __future__ import annotations

import time

import orjson
import pytest
from confluent_kafka import Consumer

from drift.columnar import is_columnar, to_rows
from drift.schema import EventLimits
from producers import BrokerUnavailable, DeliveryError, DriftClient, InvalidInference, UnknownTopic

pytestmark = pytest.mark.integration


def rows_of(raw: bytes) -> list[dict]:
    """The events of one record: a columnar record (the SDK's default), an array or one event."""
    value = orjson.loads(raw)
    if is_columnar(value):
        return to_rows(value, EventLimits())
    return value if isinstance(value, list) else [value]


def consume_all(bootstrap: str, topic: str, expected: int, deadline: float = 60.0) -> list:
    """Every record of ``topic`` until ``expected`` inferences were read (or the deadline)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{topic}-check",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    messages, count, end = [], 0, time.monotonic() + deadline
    try:
        while count < expected and time.monotonic() < end:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            messages.append(msg)
            count += len(rows_of(msg.value()))
        return messages
    finally:
        consumer.close()


def events_of(messages: list) -> list[dict]:
    out: list[dict] = []
    for msg in messages:
        out.extend(rows_of(msg.value()))
    return out


@pytest.fixture
def topic(kafka, topic_prefix) -> str:
    name = f"{topic_prefix}-inference-events"
    kafka.create_topics([name], partitions=3)
    return name


def test_logged_inferences_come_back_identical(kafka, topic):
    sent = []
    with DriftClient(kafka.bootstrap, topic=topic, batch_size=10) as client:
        for i in range(25):
            model = "fraud-v2" if i % 2 else 7
            inputs = {"feature1": i / 10, "country": "DE"}
            prediction = {"class": "positive", "score": 0.5 + i / 100}
            event_id = client.log(model, inputs, prediction, 0.9, timestamp=1_764_000_000.0 + i)
            sent.append((event_id, model, inputs, prediction))
    assert client.delivered == 25 and client.failed == 0 and client.errors == []
    messages = consume_all(kafka.bootstrap, topic, 25)
    got = {e["event_id"]: e for e in events_of(messages)}
    assert len(got) == 25
    for event_id, model, inputs, prediction in sent:
        event = got[event_id]
        assert (str(event["model_id"]), event["input_data"], event["prediction"]) == (
            str(model),  # a columnar record names its model as a string
            inputs,
            prediction,
        )
        assert event["confidence"] == 0.9 and isinstance(event["timestamp"], float)
    assert {m.key() for m in messages} == {b"7", b"fraud-v2"}  # key = model id


def test_records_carry_arrays_of_batch_size(kafka, topic):
    with DriftClient(kafka.bootstrap, topic=topic, batch_size=50, max_delay=60) as client:
        for i in range(120):
            client.log("m1", {"x": i}, i % 2, 0.5)
    messages = consume_all(kafka.bootstrap, topic, 120)
    sizes = sorted(len(rows_of(m.value())) for m in messages)
    assert sizes == [20, 50, 50]  # two full batches, the rest sent by close()
    values = [e["input_data"]["x"] for e in events_of(sorted(messages, key=lambda m: m.offset()))]
    assert sorted(values) == list(range(120))


def test_partial_batch_is_sent_after_max_delay(kafka, topic):
    client = DriftClient(kafka.bootstrap, topic=topic, batch_size=1000, max_delay=0.3)
    try:
        client.log("m1", {"x": 1}, 1, 0.5)
        messages = consume_all(kafka.bootstrap, topic, 1, deadline=20)
        assert len(events_of(messages)) == 1  # without flush(): the timer released it
    finally:
        client.close()


def test_many_inferences_none_dropped_on_close(kafka, topic):
    n = 20_000
    client = DriftClient(kafka.bootstrap, topic=topic, batch_size=100)
    for i in range(n):
        client.log(f"m{i % 4}", {"x": i}, {"class": "a", "score": 0.1}, 0.1)
    client.close()  # no explicit flush
    assert client.delivered == n and client.pending == 0
    ids = {e["input_data"]["x"] for e in events_of(consume_all(kafka.bootstrap, topic, n))}
    assert len(ids) == n


def test_unknown_topic_is_a_clear_error(kafka, topic_prefix):
    with pytest.raises(UnknownTopic, match="does-not-exist"):
        DriftClient(kafka.bootstrap, topic=f"{topic_prefix}-does-not-exist").log("m", {}, 1, 1.0)


def test_unreachable_broker_fails_fast_and_names_it(kafka, own_broker, topic_prefix):
    bootstrap = own_broker.bootstrap
    own_broker.stop()
    client = DriftClient(bootstrap, topic=f"{topic_prefix}-x", connect_timeout=3)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable, match=bootstrap.replace(".", r"\.")):
        client.log("m1", {"x": 1}, 1, 0.5)
    assert time.monotonic() - started < 10


def test_close_with_broker_down_counts_the_lost_inferences(own_broker, topic_prefix):
    topic = f"{topic_prefix}-down"
    own_broker.create_topics([topic], partitions=1)
    client = DriftClient(
        own_broker.bootstrap, topic=topic, batch_size=10, max_delay=60, connect_timeout=2
    )
    for i in range(30):
        client.log("m1", {"x": i}, 1, 0.5)
    client.flush(30)
    assert client.delivered == 30
    own_broker.stop()
    for i in range(25):  # 2 full records go to librdkafka's queue, 5 stay buffered
        client.log("m1", {"x": i}, 1, 0.5)
    with pytest.raises(BrokerUnavailable):
        client.flush(timeout=2)
    with pytest.raises(DeliveryError) as lost:
        client.close(timeout=2)
    assert lost.value.lost == 25
    assert client.delivered == 30 and client.failed == 25
    assert sum(f.inferences for f in client.errors) == 25


def test_log_label_sends_batched_arrays_of_labels_keyed_by_model(kafka, topic, topic_prefix):
    labels_topic = f"{topic_prefix}-inference-labels"
    kafka.create_topics([labels_topic], partitions=3)
    with DriftClient(
        kafka.bootstrap, topic=topic, labels_topic=labels_topic, batch_size=10, max_delay=0.2
    ) as client:
        for i in range(25):
            client.log_label("m1" if i % 5 else "m2", f"e{i}", "yes" if i % 2 else "no", 1.0e9 + i)
        client.log_label("m1", "e-int", 3)  # a numeric label, timestamped now
        with pytest.raises(InvalidInference):
            client.log_label("m1", "e", None)  # type: ignore[arg-type]
    assert (client.label_ledger.delivered, client.label_ledger.failed) == (26, 0)
    assert client.delivered == 0  # inferences are counted apart
    messages = consume_all(kafka.bootstrap, labels_topic, 26)
    got = [(msg.key(), item) for msg in messages for item in orjson.loads(msg.value())]
    assert all(len(orjson.loads(msg.value())) <= 10 for msg in messages)
    assert len(got) == 26
    assert all(key.decode() == item["model_id"] for key, item in got)
    by_id = {item["event_id"]: item for _, item in got}
    assert by_id["e7"] == {"model_id": "m1", "event_id": "e7", "label": "yes", "timestamp": 1e9 + 7}
    assert by_id["e-int"]["label"] == 3 and abs(by_id["e-int"]["timestamp"] - time.time()) < 60
