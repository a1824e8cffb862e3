"""The worker's assembly from its settings, without a broker: consumer configuration, the
transactional id and the processor built from the settings."""

from __future__ import annotations

import pytest

from stream_app.assembly import build_processor, consumer_config, transactional_id
from stream_app.changelog import StateStore
from stream_app.config import WorkerSettings

pytestmark = pytest.mark.unit


def test_the_consumer_reads_committed_and_commits_only_in_transactions():
    s = WorkerSettings(app_id="app-x", session_timeout_seconds=10, transaction_timeout_seconds=60)
    cfg = consumer_config(s)
    assert cfg["group.id"] == "app-x"
    assert cfg["isolation.level"] == "read_committed"
    assert cfg["enable.auto.commit"] is False and cfg["enable.auto.offset.store"] is False
    # events p and control p must land on one worker: the range assignor, eager
    assert cfg["partition.assignment.strategy"] == "range"
    assert cfg["session.timeout.ms"] == 10_000 and cfg["heartbeat.interval.ms"] == 1_000
    # a transaction may stay open up to its timeout: polling never looks stuck before that
    assert cfg["max.poll.interval.ms"] >= 2 * 60_000


def test_the_transactional_id_is_the_setting_or_distinct_per_worker_port():
    assert transactional_id(WorkerSettings(transactional_id="tx-1")) == "tx-1"
    a = transactional_id(WorkerSettings(app_id="app", web_port=6066))
    b = transactional_id(WorkerSettings(app_id="app", web_port=6067))
    assert a.startswith("app-") and a.endswith("-6066") and a != b
    assert a == transactional_id(WorkerSettings(app_id="app", web_port=6066))  # stable


def test_the_processor_takes_its_windows_and_policy_from_the_settings():
    s = WorkerSettings(
        bucket_seconds=60, recent_seconds=600, baseline_seconds=3600, detection_rule="fixed"
    )
    processor = build_processor(s, StateStore())
    assert processor.policy.rule == "fixed"
    assert (processor.spec.bucket, processor.spec.recent, processor.spec.baseline) == (
        60,
        600,
        3600,
    )
