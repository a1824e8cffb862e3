"""Fixtures of the API tests: a real uvicorn server per test on a fresh database and topics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import Api, make_settings, running_api

from drift.topics import Topics


@pytest.fixture
def topics(kafka, topic_prefix) -> Topics:
    names = Topics(topic_prefix)
    kafka.create_topics(names.all(), partitions=2)
    return names


@pytest.fixture
def api(kafka, db_dsn, topic_prefix, topics) -> Iterator[Api]:
    with running_api(make_settings(kafka.bootstrap, db_dsn, topic_prefix)) as served:
        yield served
