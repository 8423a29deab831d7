"""Schemathesis against the served OpenAPI document: every operation of /openapi.json is called with
generated requests (data that fits the schema, and data that does not) on a real local server with key
checking on, authenticated with issued keys, and every response must be declared: its status code, its
content type, its headers and its body's schema. So the document cannot drift from what the server does.

Bounded: at most MAX_EXAMPLES generated cases per operation (deterministic, so a run is repeatable).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.support.admin import new_project
from tests.support.servers import ServerProcess, serve

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ADMIN_KEY = "sk-admin-schemathesis-bootstrap"


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own: generated requests create, change and delete what they like."""
    yield from serve(tmp_path_factory.mktemp("server-schemathesis"), ADMIN_API_KEY=ADMIN_KEY)


@pytest.fixture(scope="module")
def project_key(keyed_server: ServerProcess) -> str:
    """A project key with the write role: what the /v1 (non-organization) operations need."""
    return new_project(keyed_server, ADMIN_KEY, name="schemathesis", role="write")[1]


@pytest.fixture(scope="module")
def api_schema(keyed_server: ServerProcess) -> Any:
    config = SchemathesisConfig.from_dict({"generation": {"modes": ["positive", "negative"]}})
    return schemathesis.openapi.from_url(keyed_server.base_url + "/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_response_matches_the_document(case: Any, project_key: str) -> None:
    key = ADMIN_KEY if case.path.startswith("/v1/organization") else project_key
    case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS, timeout=30)
