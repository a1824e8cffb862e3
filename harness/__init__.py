"""Local service harness: real Kafka, PostgreSQL, Prometheus and Alertmanager without Docker.

Used by the test fixtures (tests/conftest.py) and by `driftmon stack` (the demo) alike.
Every service binds a free loopback port, keeps its data in a temporary directory, waits for
real readiness (a metadata request, a SQL query, /-/ready) and removes its data on close.
"""

from harness.alertmanager import AlertmanagerServer
from harness.kafka import KafkaBroker
from harness.postgres import PostgresServer
from harness.process import ServiceError
from harness.prometheus import PrometheusServer

__all__ = [
    "AlertmanagerServer",
    "KafkaBroker",
    "PostgresServer",
    "PrometheusServer",
    "ServiceError",
]
