"""The SDK without a broker: events, buffers, no network in __init__, the HTTP client."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import numpy as np
import orjson
import pytest

from drift import binary_columns, topics
from producers import (
    DriftClient,
    HttpDriftClient,
    IngestError,
    IngestUnavailable,
    InvalidInference,
    ModelQuotaExceeded,
    records,
)
from producers import client as client_module
from producers.buffer import ModelBuffers
from producers.client import producer_config
from producers.records import build_event, encode_event, validate_with_server_schema

pytestmark = pytest.mark.unit


def test_build_event_fills_id_and_time():
    before = time.time()
    event = build_event(3, {"f": np.float64(0.5), "n": np.int64(2)}, {"class": "a"}, 0.7)
    assert len(event["event_id"]) == 32 and before <= event["timestamp"] <= time.time()
    assert orjson.loads(encode_event(event))["input_data"] == {"f": 0.5, "n": 2}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model_id": "bad id!"}, "model_id"),
        ({"model_id": 1.5}, "model_id"),
        ({"input_data": [1, 2]}, "input_data"),
        ({"timestamp": float("nan")}, "timestamp"),
        ({"event_id": "x" * 65}, "event_id"),
    ],
)
def test_build_event_names_the_bad_field(kwargs, field):
    args = {"model_id": "m", "input_data": {}, "prediction": 1, "confidence": 0.5} | kwargs
    with pytest.raises(InvalidInference, match=field):
        build_event(**args)


def test_buffers_release_full_and_stale_batches():
    now = [0.0]
    buffers = ModelBuffers(batch_size=3, max_delay=1.0, clock=lambda: now[0])
    assert buffers.add("a", b"1") is None and buffers.add("b", b"x") is None
    assert buffers.add("a", b"2") is None
    assert buffers.add("a", b"3") == [b"1", b"2", b"3"]
    assert buffers.take_stale() == []
    now[0] = 1.5
    assert buffers.take_stale() == [("b", [b"x"])] and len(buffers) == 0


def test_no_network_in_init_and_safe_defaults():
    started = time.monotonic()
    client = DriftClient("192.0.2.1:9092", linger_ms=5, message_timeout_ms=1000)
    assert time.monotonic() - started < 0.5 and client._producer is None
    client.close()  # nothing was logged: nothing to flush, no connection made
    config = producer_config("b:9092", 5, {"message_timeout_ms": 1000})
    assert config["enable.idempotence"] is True and config["acks"] == "all"
    assert config["compression.type"] == "lz4" and config["message.timeout.ms"] == 1000


def recording_transport(status: int = 202) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json={"detail": "nope"} if status >= 400 else {})

    return httpx.MockTransport(handle), seen


def test_http_client_posts_batches_with_the_api_key():
    transport, seen = recording_transport()
    with HttpDriftClient("http://api:8000/", "k1", batch_size=4, transport=transport) as client:
        ids = [client.log("m1", {"x": i}, 1, 0.5) for i in range(10)]
    assert [r.url.path for r in seen] == ["/inference/batch"] * 3
    assert all(r.headers["X-API-Key"] == "k1" for r in seen)
    bodies = [orjson.loads(r.content) for r in seen]  # columnar records by default
    assert all(b["model_id"] == "m1" for b in bodies)
    assert [i for b in bodies for i in b["columns"]["event_id"]] == ids
    assert [x for b in bodies for x in b["columns"]["input.x"]] == list(range(10))
    assert client.delivered == 10
    transport, seen = recording_transport()
    with HttpDriftClient("http://api:8000/", "k1", batch_size=20, transport=transport) as client:
        ids = [client.log("m1", {"x": i}, 1, 0.5) for i in range(20)]
    [body] = [orjson.loads(r.content) for r in seen]
    assert set(body["columns"]["input.x"]) == {"f8"}  # binary from BINARY_MIN_EVENTS events
    assert binary_columns.expand(body["columns"])["input.x"] == list(range(20))
    assert body["columns"]["event_id"] == ids and client.delivered == 20
    transport, seen = recording_transport()
    with HttpDriftClient(
        "http://api:8000/", batch_size=4, transport=transport, columnar=False
    ) as c:
        ids = [c.log("m1", {"x": i}, 1, 0.5) for i in range(5)]
    sent = [e for r in seen for e in orjson.loads(r.content)]
    assert [e["event_id"] for e in sent] == ids


def test_columnar_records_hold_every_field_and_fall_back_to_rows():
    events = [
        records.build_event("m", {"x": 1.0, "c": "a"}, {"label": "p", "s": 0.1}, 0.9, 10.0, "e1"),
        records.build_event("m", {"x": 2.0}, {"label": "q"}, None, 11.0, "e2", {"k": 1}),
    ]
    record = records.columnar("m", events)
    assert record == {
        "model_id": "m",
        "columns": {
            "timestamp": [10.0, 11.0],
            "event_id": ["e1", "e2"],
            "input.x": [1.0, 2.0],
            "input.c": ["a", None],
            "prediction.label": ["p", "q"],
            "prediction.s": [0.1, None],
            "confidence": [0.9, None],
            "metadata": [None, {"k": 1}],
        },
    }
    nested = records.build_event("m", {"x": {"y": 1}}, 1, None, 10.0)
    mixed = records.build_event("m", {"x": 1}, "a", None, 10.0)
    assert records.columnar("m", [nested]) is None
    assert records.columnar("m", [events[0], mixed]) is None
    assert isinstance(orjson.loads(records.encode_columnar("m", [nested, nested])), list)


def test_http_client_single_events_and_errors():
    transport, seen = recording_transport()
    client = HttpDriftClient("http://api:8000", batch_size=1, transport=transport)
    client.log(2, {"x": 1}, 1, 0.5)
    assert seen[0].url.path == "/inference" and orjson.loads(seen[0].content)["model_id"] == 2
    assert "X-API-Key" not in seen[0].headers
    for status, error in ((503, IngestUnavailable), (422, IngestError)):
        failing = HttpDriftClient(
            "http://api:8000", batch_size=1, transport=recording_transport(status)[0]
        )
        with pytest.raises(error, match=str(status)):
            failing.log(2, {"x": 1}, 1, 0.5)
        assert failing.failed == 1


def test_http_client_key_from_the_environment_and_refusals(monkeypatch):
    monkeypatch.setenv("DRIFT_API_KEY", "from-env")
    transport, seen = recording_transport()
    HttpDriftClient("http://api:8000", batch_size=1, transport=transport).log("m", {"x": 1}, 1, 0.5)
    assert seen[0].headers["X-API-Key"] == "from-env"

    def answer(status: int, headers: dict[str, str]) -> httpx.MockTransport:
        return httpx.MockTransport(lambda _: httpx.Response(status, headers=headers, json={}))

    quota = HttpDriftClient("http://api:8000", batch_size=1, transport=answer(429, {}))
    with pytest.raises(ModelQuotaExceeded, match="429"):
        quota.log("junk", {"x": 1}, 1, 0.5)
    down = HttpDriftClient(
        "http://api:8000", batch_size=1, transport=answer(503, {"Retry-After": "2"})
    )
    with pytest.raises(IngestUnavailable) as info:
        down.log("m", {"x": 1}, 1, 0.5)
    assert info.value.retry_after == 2.0


def test_optional_server_validation_names_the_field():
    good = build_event("m1", {"x": 1.0, "country": "DE"}, {"class": "a", "score": 0.3}, 0.7)
    validate_with_server_schema(good)
    with pytest.raises(InvalidInference, match=r"input_data\.x"):
        validate_with_server_schema(build_event("m1", {"x": [1, 2]}, 1, 0.5))


def test_sdk_imports_stay_light():
    """`import producers` needs only confluent-kafka, orjson and numpy (no server stack)."""
    code = (
        "import sys, producers, producers.cli, producers.generate; "
        "print(sorted(m for m in ('scipy', 'httpx', 'tqdm', 'faust', 'fastapi', 'psycopg', "
        "'pydantic', 'drift') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr


def test_default_topic_matches_the_topic_registry():
    assert client_module.INFERENCE_EVENTS == topics.INFERENCE_EVENTS
    assert client_module.INFERENCE_LABELS == topics.INFERENCE_LABELS
