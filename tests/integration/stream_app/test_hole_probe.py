"""The hole probe on a real broker: skipped records are found, transaction markers are not."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from stream_app.gaps import records_in

pytestmark = pytest.mark.integration


def test_records_in_tells_skipped_records_from_transaction_markers(kafka, topic_prefix):
    topic = f"{topic_prefix}-holes"
    kafka.create_topics([topic], partitions=1)
    plain = Producer({"bootstrap.servers": kafka.bootstrap, "enable.idempotence": True})
    for i in range(5):
        plain.produce(topic, value=f"r{i}".encode())  # offsets 0..4
    assert plain.flush(30) == 0
    tx = Producer({"bootstrap.servers": kafka.bootstrap, "transactional.id": f"{topic}-tx"})
    tx.init_transactions(30)
    for i in range(2):  # a record each, then a commit marker: 5, (6), 7, ...
        tx.begin_transaction()
        tx.produce(topic, value=f"t{i}".encode())
        tx.commit_transaction(30)
    plain.produce(topic, value=b"last")
    assert plain.flush(30) == 0

    assert records_in(kafka.bootstrap, topic, (0, 2, 3)) is True
    assert records_in(kafka.bootstrap, topic, (0, 6, 6)) is False  # a commit marker
    assert records_in(kafka.bootstrap, topic, (0, 6, 7)) is True
