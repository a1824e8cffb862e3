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


def test_generate_sends_delayed_labels_to_the_labels_topic(kafka, topic_prefix, monkeypatch):
    import orjson

    monkeypatch.setenv("DRIFT_TOPIC_PREFIX", f"{topic_prefix}-")
    events_topic = f"{topic_prefix}-inference-events"
    labels_topic = f"{topic_prefix}-inference-labels"
    kafka.create_topics([events_topic, labels_topic], partitions=2)
    argv = ["generate", "--scenario", "concept", "--models", "1", "--duration", "20m",
            "--rate", "1", "--batch-size", "50", "--label-delay", "1h", "--label-share", "0.5",
            "--bootstrap", kafka.bootstrap, "--no-progress"]  # fmt: skip
    assert driftmon_cli.main(argv) == 0
    events = {e["event_id"]: e for e in events_of(consume_all(kafka.bootstrap, events_topic, 1200))}
    assert len(events) == 1200
    # every label record (consume_all counts the items of an array: stops at the deadline)
    records = consume_all(kafka.bootstrap, labels_topic, 10_000, deadline=10.0)
    labels = [item for m in records for item in orjson.loads(m.value())]
    assert 500 < len(labels) < 700  # about half
    for lab in labels:
        assert lab["label"] in {"positive", "negative"}
        assert lab["timestamp"] == pytest.approx(
            events[lab["event_id"]]["timestamp"] + 3600, abs=1e-3
        )
