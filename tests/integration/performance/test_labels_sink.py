"""The labels sink and the performance job on real Kafka and PostgreSQL: labels stored, bad and
too-late ones on the DLQ with their reasons and counted, windows computed, gauges exported."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import psycopg
import pytest
from confluent_kafka import Producer
from prometheus_client import CollectorRegistry

from drift.topics import Topics
from sinks import performance_sinks
from sinks.settings import SinkSettings
from tests.integration.api.api_support import consume
from tests.integration.performance.perf_support import log_inferences
from tests.integration.workers import produce, wait_for

pytestmark = pytest.mark.integration
HOUR = 3600
DAY = 86_400


def hours_ago(n: int) -> int:
    return (int(time.time()) // HOUR - n) * HOUR


def events(rng, start: float, n: int, concept: float = 0.0, prefix: str = "e"):
    conf = 0.5 + 0.5 * rng.beta(5.0, 2.0, n)
    right = rng.random(n) < np.clip(conf - concept, 0, 1)
    truth = rng.choice(["yes", "no"], n)
    pred = np.where(right, truth, np.where(truth == "yes", "no", "yes"))
    times = start + rng.uniform(0, HOUR, n)
    return [
        (f"{prefix}{i}", float(t), str(p), float(c), str(y))
        for i, (t, p, c, y) in enumerate(zip(times, pred, conf, truth, strict=True))
    ]


def label_records(model: str, evs, delay: float = DAY, size: int = 100):
    items = [
        {"model_id": model, "event_id": e, "label": y, "timestamp": t + delay}
        for e, t, _, _, y in evs
    ]
    return [(model, items[i : i + size]) for i in range(0, len(items), size)]


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_labels_sink_stores_refuses_and_the_job_exports_performance(kafka, db_dsn, topic_prefix):
    rng = np.random.default_rng(11)
    t0 = hours_ago(30)
    reference = [e for h in range(24) for e in events(rng, t0 + h * HOUR, 200, prefix=f"r{h}-")]
    drifted = events(rng, t0 + 24 * HOUR, 600, concept=0.25, prefix="d")
    with psycopg.connect(db_dsn) as conn:
        log_inferences(conn, "m", reference + drifted)
    settings = SinkSettings(
        kafka_bootstrap=kafka.bootstrap,
        topic_prefix=f"{topic_prefix}-",
        app_id=f"{topic_prefix}-app",
        database_url=db_dsn,
        performance_interval_seconds=0.5,
        sinks_web_port=0,
    )
    topics = Topics(settings.topic_prefix)
    kafka.create_topics([topics.labels, topics.labels_dlq], 2)
    late_id, late_t = drifted[0][0], drifted[0][1]
    bare_id, bare_truth = drifted[1][0], drifted[1][4]
    produce(
        kafka.bootstrap,
        topics.labels,
        [
            *label_records("m", reference + drifted[2:]),
            (
                "m",
                {
                    "model_id": "m",
                    "event_id": late_id,
                    "label": "yes",
                    "timestamp": late_t + 8 * DAY,
                },
            ),
            ("m", {"model_id": "m", "event_id": bare_id, "label": bare_truth}),  # broker time
            (
                "m",
                [
                    {"model_id": "m", "event_id": "x1"},
                    {"model_id": "m", "event_id": "x2", "label": "no"},
                ],
            ),
        ],
    )
    raw = Producer({"bootstrap.servers": kafka.bootstrap})
    raw.produce(topics.labels, b"{not json", b"m")
    assert raw.flush(10) == 0

    registry = CollectorRegistry()
    threads = performance_sinks.start(settings, topics, registry)
    try:
        stored = len(reference) + len(drifted) - 1 + 1  # all but the late one, plus x2
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            wait_for(
                lambda: conn.execute("SELECT count(*) FROM labels").fetchone()[0] == stored,
                60,
                "the labels stored",
            )
            bare = conn.execute(
                "SELECT extract(epoch FROM label_time) FROM labels WHERE event_id = %s", (bare_id,)
            ).fetchone()[0]
            assert abs(float(bare) - time.time()) < 120  # the record's broker time
            assert conn.execute("SELECT matched FROM labels WHERE event_id = 'x2'").fetchone() == (
                False,
            )
        dlq = consume(kafka.bootstrap, topics.labels_dlq, 3)
        reasons = Counter(dict(m.headers())["reason"].decode() for m in dlq)
        assert reasons == {"too_late": 1, "missing_label": 1, "bad_json": 1}
        assert (
            wait_for(
                lambda: sample(registry, "drift_labels_rejected_total", reason="too_late"),
                30,
                "counts",
            )
            == 1
        )
        assert sample(registry, "drift_labels_too_late_total", model_id="m") == 1
        assert sample(registry, "drift_labels_total", model_id="m") == stored

        accuracy = wait_for(
            lambda: sample(registry, "drift_performance_accuracy", model_id="m"), 60, "accuracy"
        )
        judged = [e for e in drifted if e[0] != late_id]
        direct = sum(p == y for _, _, p, _, y in judged) / len(judged)
        assert accuracy == pytest.approx(direct, abs=1e-12)
        assert (
            sample(registry, "drift_performance_window_start_timestamp_seconds", model_id="m")
            == t0 + 24 * HOUR
        )
        assert sample(registry, "drift_performance_labelled_share", model_id="m") == pytest.approx(
            len(judged) / len(drifted)
        )
        assert sample(registry, "drift_performance_degraded", model_id="m") == 1
        assert sample(registry, "drift_performance_p_value", model_id="m") < 1e-3
        estimated = sample(registry, "drift_performance_estimated_accuracy", model_id="m")
        assert estimated is not None and estimated > accuracy + 0.1  # blind to the concept
        base = sum(p == y for _, _, p, _, y in reference) / len(reference)
        assert sample(
            registry, "drift_performance_baseline_accuracy", model_id="m"
        ) == pytest.approx(base)
    finally:
        for thread in threads:
            thread.stop()
        for thread in threads:
            thread.join(15)
