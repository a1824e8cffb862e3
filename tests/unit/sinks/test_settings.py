"""The sinks' settings: their own class, the same DRIFT_* variables as the worker, and the
environment the worker hands its sinks child."""

from __future__ import annotations

import pytest

from sinks.process import settings_env
from sinks.settings import SharedSettings, SinkSettings, from_worker
from stream_app.config import WorkerSettings

pytestmark = pytest.mark.unit


def test_the_values_both_read_are_defined_once():
    shared = SinkSettings.model_fields.keys() & WorkerSettings.model_fields.keys()
    assert {"kafka_bootstrap", "database_url", "app_id", "max_event_age_seconds"} <= shared
    assert shared == SharedSettings.model_fields.keys()


def test_from_worker_takes_the_worker_values_and_the_rest_from_the_environment(monkeypatch):
    monkeypatch.setenv("DRIFT_SINKS_WEB_PORT", "7001")
    worker = WorkerSettings(app_id="w1", dedup_horizon_seconds=7, max_event_age_seconds=None)
    sinks = from_worker(worker.model_dump())
    assert (sinks.app_id, sinks.dedup_horizon_seconds, sinks.sinks_web_port) == ("w1", 7, 7001)


@pytest.mark.parametrize("age", [None, 0.0, 1234.5])
def test_the_child_environment_gives_back_exactly_these_settings(monkeypatch, age):
    # an unset max_event_age_seconds must not reach the child as "null": pydantic refuses it
    monkeypatch.setenv("DRIFT_MAX_EVENT_AGE_SECONDS", "99")
    given = SinkSettings(
        app_id="x-app", inference_logs_enabled=False, max_event_age_seconds=age, topic_prefix=""
    )
    env = settings_env(given)
    assert all(isinstance(v, str) for v in env.values())
    for key in list(env):
        monkeypatch.setenv(key, env[key])
    if age is None:
        monkeypatch.delenv("DRIFT_MAX_EVENT_AGE_SECONDS", raising=False)
    assert SinkSettings() == given
