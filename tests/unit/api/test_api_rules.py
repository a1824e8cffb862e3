"""Pure pieces of the API hardening (issue 17): event rules, guards, keys, threshold ranges."""

from __future__ import annotations

import datetime as dt

import pytest

from api.core.config import Settings
from api.core.guards import host_name, is_json
from api.core.security import key_accepted, key_id, presented_key
from api.rules import EventRules, check_time, deeper_than
from api.schemas.drift import METRICS
from api.schemas.models import METRIC_RANGES, threshold_problem
from drift.events import InvalidEvent
from sinks.writers import partition_days

pytestmark = pytest.mark.unit


def nest(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("depth", [0, 1, 5, 63, 64])
def test_depth_within_the_limit(depth):
    assert not deeper_than(nest(depth), 64)


@pytest.mark.parametrize("depth", [65, 254, 5000])
def test_depth_over_the_limit_without_recursion(depth):
    assert deeper_than(nest(depth), 64)  # 5000 levels: recursion would overflow the stack


def test_lists_count_as_levels_too():
    assert deeper_than([[[1]]], 2) and not deeper_than([[[1]]], 3)


def test_time_bounds_and_reason_codes():
    now = 1_800_000_000.0
    check_time(None, now, 300, 90_000)
    check_time(now + 300, now, 300, 90_000)
    check_time(now - 90_000, now, 300, 90_000)
    with pytest.raises(InvalidEvent) as future:
        check_time(now + 301, now, 300, 90_000)
    assert (future.value.reason, future.value.field) == ("timestamp_in_future", "timestamp")
    with pytest.raises(InvalidEvent) as old:
        check_time(now - 90_001, now, 300, 90_000)
    assert old.value.reason == "timestamp_too_old"


def test_rules_name_the_too_deep_field():
    rules = EventRules(max_depth=4)
    event = {"model_id": "m", "input_data": {"x": 1.0}, "metadata": nest(4)}
    with pytest.raises(InvalidEvent) as exc:
        rules.check(event, 0.0)
    assert (exc.value.reason, exc.value.field) == ("too_deep", "metadata")


def test_partitions_only_inside_the_span():
    now = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC).timestamp()
    days = {dt.date(1970, 1, 2), dt.date(2026, 11, 30), dt.date(2026, 12, 1), dt.date(2027, 1, 1)}
    assert partition_days(days, now, 90_000, 300) == {dt.date(2026, 11, 30), dt.date(2026, 12, 1)}


@pytest.mark.parametrize(
    ("host", "name"),
    [("localhost:8000", "localhost"), ("[::1]:8000", "[::1]"), ("[::1]", "[::1]"),
     ("127.0.0.1", "127.0.0.1"), ("API:80", "api"), ("::1", "::1")],
)  # fmt: skip
def test_host_name_strips_the_port(host, name):
    assert host_name(host) == name


def test_bind_host_is_an_allowed_host():
    assert "10.0.0.5" in Settings(api_host="10.0.0.5").host_set
    assert "0.0.0.0" not in Settings(api_host="0.0.0.0").host_set


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [("application/json", True), ("application/json; charset=utf-8", True),
     ("application/merge-patch+json", True), ("text/plain", False), ("", False),
     ("application/x-www-form-urlencoded", False), ("multipart/form-data; b=x", False)],
)  # fmt: skip
def test_json_content_types(content_type, ok):
    assert is_json(content_type) is ok


def test_keys_from_either_header_and_key_ids():
    assert presented_key("k1", None) == "k1"
    assert presented_key(None, "Bearer k2") == "k2"
    assert presented_key(None, "bearer  k3 ") == "k3"
    assert presented_key(None, "Basic abc") is None and presented_key(None, "Bearer ") is None
    assert key_accepted("k1", frozenset({"k1"})) and not key_accepted(None, frozenset({"k1"}))
    assert key_id(None) == "local" and key_id("k1") != "k1" and len(key_id("k1")) == 16


def test_every_metric_has_a_range():
    assert set(METRIC_RANGES) == set(METRICS)
    assert threshold_problem("cosine_similarity", -1.0) is None
    assert threshold_problem("cosine_similarity", 1.01) == "must be in [-1, 1]"
    assert threshold_problem("psi", float("inf")) == "must be finite"
    assert threshold_problem("kl_divergence", 1e308) == "must be in [0, 1000]"


def test_docs_open_by_default_only_without_keys():
    assert Settings().docs_open
    assert not Settings(api_keys="k").docs_open
    assert Settings(api_keys="k", docs_public=True).docs_open


def test_ingested_embeddings_are_checked_and_published():
    import orjson

    from api.core.errors import ApiError
    from api.ingest import canonical, check

    rules, now = EventRules(), 1_764_000_000.0
    body = {"model_id": "m", "input_data": {"x": 1}, "embeddings": {"text": [0.5, -1, 2.25]}}
    event = check(body, rules, now)
    assert orjson.loads(canonical(event, now))["embeddings"] == {"text": [0.5, -1.0, 2.25]}
    with pytest.raises(ApiError) as refused:
        check({**body, "embeddings": {"text": [0.5, 1e6]}}, rules, now)
    assert refused.value.code == "embedding_out_of_range" and refused.value.status == 422
