"""schemathesis against the OpenAPI spec: no 5xx, and every answer conforms to the schema.

One server (module scope) on its own database and topics with real Kafka and PostgreSQL; every
operation gets a bounded number of generated cases so the module stays well under a minute.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from api_support import Api, insert, make_settings, run_row, running_api
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.core.config import Settings
from api.main import create_app
from drift.topics import Topics
from sql.migrations import migrate

pytestmark = pytest.mark.integration

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def served(kafka, postgres) -> Iterator[Api]:
    dsn = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")
    migrate(dsn)
    prefix = f"t{uuid.uuid4().hex[:8]}"
    kafka.create_topics(Topics(prefix).all(), partitions=1)
    insert(dsn, "drift_runs", [run_row("1", s, m) for s in ("a", "b") for m in range(1, 5)])
    with running_api(make_settings(kafka.bootstrap, dsn, prefix)) as api:
        api.client.put("/models/1/thresholds", json={"*": {"psi": 0.2}})
        yield api


@pytest.fixture(scope="module")
def api_schema(served: Api):
    return schemathesis.openapi.from_url(f"{served.client.base_url}/openapi.json")


# The operations, read from an app that is built but never started (no network).
OPERATIONS = [
    (path, method.upper())
    for path, item in create_app(Settings(run_migrations=False)).openapi()["paths"].items()
    for method in item
]


def send(client: httpx.Client, case: Case) -> httpx.Response:
    """Send a generated case with httpx (schemathesis' requests transport trips over the
    urllib3-future package installed in this environment)."""
    kw = case.as_transport_kwargs(base_url=str(client.base_url))
    body = {"json": kw["json"]} if "json" in kw else {"content": kw.get("data")}
    return client.request(
        kw["method"],
        kw["url"],
        params=kw.get("params"),
        headers=kw.get("headers"),
        **body,
    )


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_openapi_conformance(served, api_schema, path, method):
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=15,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        response = send(served.client, case)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    statuses: list[int] = []
    check()
    assert statuses, "no case was sent"
