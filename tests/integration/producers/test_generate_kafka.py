"""`driftmon generate` to a real Kafka topic: every inference arrives, keyed by model."""

from __future__ import annotations

import pytest
from test_drift_client import consume_all, events_of, rows_of

import driftmon_cli

pytestmark = pytest.mark.integration


def test_generate_to_kafka_delivers_every_inference(kafka, topic_prefix):
    topic = f"{topic_prefix}-inference-events"
    kafka.create_topics([topic], partitions=4)
    argv = ["generate", "--scenario", "gradual", "--models", "2", "--duration", "30m",
            "--rate", "2", "--batch-size", "40", "--bootstrap", kafka.bootstrap,
            "--topic", topic, "--no-progress"]  # fmt: skip
    assert driftmon_cli.main(argv) == 0
    messages = consume_all(kafka.bootstrap, topic, 7200)
    events = events_of(messages)
    assert len(events) == 7200 and len({e["event_id"] for e in events}) == 7200
    assert all(len(rows_of(m.value())) == 40 for m in messages)
    assert all(m.key() == str(rows_of(m.value())[0]["model_id"]).encode() for m in messages)
