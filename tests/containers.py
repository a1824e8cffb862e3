"""testcontainers-backed services, for machines with a Docker engine (DRIFT_TEST_SERVICES=docker).

They expose the same attributes the tests use from the local harness (bootstrap, dsn(),
create_database(), create_topics()); the local harness stays the default path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class _DockerKafka:
    def __init__(self, container: Any) -> None:
        self.container = container
        self.bootstrap = container.get_bootstrap_server()

    def create_topics(self, names: list[str], partitions: int | None = None) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        for fut in admin.create_topics([NewTopic(n, partitions or 8, 1) for n in names]).values():
            fut.result(60)


def docker_kafka() -> Iterator[Any]:
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer("apache/kafka:4.1.1").with_kraft() as container:
        yield _DockerKafka(container)


class _DockerPostgres:
    def __init__(self, container: Any) -> None:
        self.container = container
        self.host = container.get_container_host_ip()
        self.port = int(container.get_exposed_port(5432))

    def dsn(self, dbname: str = "driftmon", user: str = "driftmon") -> str:
        return f"postgresql://{user}:driftmon@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)


def docker_postgres() -> Iterator[Any]:
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer(
        "postgres:16", username="driftmon", password="driftmon", dbname="driftmon"
    ) as container:
        yield _DockerPostgres(container)
