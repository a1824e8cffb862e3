"""Session fixtures: real Kafka, PostgreSQL, Prometheus and Alertmanager on free loopback ports.

The services come from the local harness (harness/) by default. With DRIFT_TEST_SERVICES=docker
and a reachable Docker engine, Kafka and PostgreSQL come from testcontainers instead.
Under CI=true a skipped test fails the run (see pytest_sessionfinish).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from harness import AlertmanagerServer, KafkaBroker, PostgresServer, PrometheusServer
from sql.migrations import migrate

BASE_PROMETHEUS = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
BASE_ALERTMANAGER = "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"


def _use_docker() -> bool:
    return os.environ.get("DRIFT_TEST_SERVICES", "local") == "docker"


@pytest.fixture(scope="session")
def kafka() -> Iterator[KafkaBroker]:
    if _use_docker():
        from tests.containers import docker_kafka

        yield from docker_kafka()
        return
    broker = KafkaBroker()
    broker.start()
    yield broker
    broker.close()


@pytest.fixture
def own_broker() -> Iterator[KafkaBroker]:
    """A broker of one test alone, which it may stop and start without harming the session's."""
    broker = KafkaBroker(partitions=4, heap="512m")
    broker.start()
    yield broker
    broker.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    if _use_docker():
        from tests.containers import docker_postgres

        yield from docker_postgres()
        return
    server = PostgresServer()
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def prometheus() -> Iterator[PrometheusServer]:
    server = PrometheusServer(BASE_PROMETHEUS)
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def alertmanager() -> Iterator[AlertmanagerServer]:
    server = AlertmanagerServer(BASE_ALERTMANAGER)
    server.start()
    yield server
    server.close()


@pytest.fixture
def db_dsn(postgres: PostgresServer) -> str:
    """A fresh, migrated database for one test."""
    dsn = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")
    migrate(dsn)
    return dsn


@pytest.fixture
def topic_prefix() -> str:
    """A unique prefix so each test has topics (and consumer groups) of its own."""
    return f"t{uuid.uuid4().hex[:8]}"


# --- under CI a skipped test is a failure -------------------------------------------------
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"} and _skipped:
        print(f"\nCI: {len(_skipped)} skipped test(s) count as failures: {_skipped}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
