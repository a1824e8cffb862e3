"""Issue 17, defect 9 on a real PostgreSQL of this test alone: stopped, then stalled (SIGSTOP).

Before: PostgreSQL down gave 500 after 5 s, and 500s for ~39 s after it was back (the pool's
exponential reconnect back-off); stalled, reads hung for the whole stall and /healthz took 12 s.
Now both answer 503 with Retry-After within the bounds below, and the first request after the
server is back succeeds within RECOVER_WITHIN.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from api_support import Api, make_settings, running_api

from harness import PostgresServer
from sql.migrations import migrate

pytestmark = pytest.mark.integration

DOWN_WITHIN = 3.0  # stopped: refused connections, the pool's wait (db_timeout_s = 2 s)
STALL_WITHIN = 4.5  # hung: the request deadline (db_deadline_s = 3.5 s)
HEALTH_WITHIN = 3.0  # /healthz gives each check 2 s
RECOVER_WITHIN = 2.0  # from the server being ready to the first 200


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    if server.process.proc is not None:
        signal_all(server.process.proc.pid, signal.SIGCONT)
    server.close()


@pytest.fixture
def outage_api(kafka, own_postgres, topic_prefix, topics) -> Iterator[Api]:
    dsn = own_postgres.create_database("outage")
    migrate(dsn)
    with running_api(make_settings(kafka.bootstrap, dsn, topic_prefix)) as served:
        yield served


def server_pids(postmaster: int) -> list[int]:
    """The postmaster and its children (backends call setsid: not one process group)."""
    pids = [postmaster]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == postmaster:
                pids.append(int(entry))
    return pids


def signal_all(postmaster: int, sig: signal.Signals) -> None:
    for pid in server_pids(postmaster):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def timed(client: httpx.Client, method: str, path: str, **kw) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    resp = client.request(method, path, **kw)
    return resp, time.monotonic() - start


def assert_unavailable(api: Api, within: float) -> list[float]:
    took = []
    for method, path, kw in (
        ("GET", "/models", {}),
        ("GET", "/stats", {}),
        ("PUT", "/models/m1/thresholds", {"json": {"*": {"psi": 0.3}}}),
        ("POST", "/alertmanager/webhook", {"json": {"alerts": [WEBHOOK_ALERT]}}),
    ):
        resp, seconds = timed(api.client, method, path, **kw)
        assert resp.status_code == 503, (path, resp.status_code, resp.text)
        assert resp.json()["error"]["code"] == "database_unavailable"
        assert resp.headers["retry-after"] == str(api.settings.retry_after_s)
        assert seconds < within, (path, seconds)
        took.append(seconds)
    health, seconds = timed(api.client, "GET", "/healthz")
    assert health.status_code == 503 and seconds < HEALTH_WITHIN, (health.text, seconds)
    return took


def concurrent_reads(api: Api, n: int) -> list[tuple[int, float]]:
    url = str(api.client.base_url)

    def one(_: int) -> tuple[int, float]:
        with httpx.Client(base_url=url, timeout=30) as client:
            resp, seconds = timed(client, "GET", "/models")
            return resp.status_code, seconds

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def wait_recovered(api: Api) -> float:
    start = time.monotonic()
    while time.monotonic() - start < 30:
        if api.client.get("/models").status_code == 200:
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError("the API did not recover within 30 s")


WEBHOOK_ALERT = {
    "status": "firing",
    "labels": {"alertname": "X"},
    "annotations": {},
    "startsAt": "2026-12-01T00:00:00Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "fingerprint": "f1",
}


def test_postgres_stopped_then_started(outage_api: Api, own_postgres: PostgresServer):
    assert outage_api.client.get("/models").status_code == 200
    own_postgres.process.stop(timeout=30, sig=signal.SIGINT)  # fast shutdown: sessions cut
    took = assert_unavailable(outage_api, DOWN_WITHIN)
    own_postgres.start()
    recovered = wait_recovered(outage_api)
    print(f"\nPostgreSQL stopped: 503 after {max(took):.2f} s; recovered {recovered:.2f} s")
    assert recovered < RECOVER_WITHIN
    assert outage_api.client.get("/healthz").status_code == 200


def test_postgres_stalled_then_resumed(outage_api: Api, own_postgres: PostgresServer):
    assert outage_api.client.get("/models").status_code == 200
    assert own_postgres.process.proc is not None
    postmaster = own_postgres.process.proc.pid
    signal_all(postmaster, signal.SIGSTOP)  # postmaster and every backend
    try:
        took = assert_unavailable(outage_api, STALL_WITHIN)
        again = assert_unavailable(outage_api, STALL_WITHIN)  # pool exhausted by hung work
        crowd = concurrent_reads(outage_api, 30)  # 3x the pool: every one still answers in time
        assert all(status == 503 for status, _ in crowd), crowd
        assert max(seconds for _, seconds in crowd) < STALL_WITHIN, crowd
    finally:
        signal_all(postmaster, signal.SIGCONT)
    recovered = wait_recovered(outage_api)
    print(f"\nPostgreSQL stalled: 503 after {max(took + again):.2f} s; recovered {recovered:.2f} s")
    assert recovered < RECOVER_WITHIN
