"""Schemathesis against the served OpenAPI document: every operation of /openapi.json is called with
generated requests (data that fits the schema, and data that does not) on a real local server with key
checking on, authenticated with issued keys, and every response must be declared: its status code, its
content type, its headers and its body's schema. So the document cannot drift from what the server does.

Two runs, both bounded and deterministic (a run is repeatable):
- each operation alone, with at most MAX_EXAMPLES generated cases: random ids, so mostly the errors;
- stateful sequences (STATEFUL_SEQUENCES of at most STATEFUL_STEPS calls), which feed the ids that
  responses return (a created store, file, batch, project, key) into the operations that take them,
  so retrievals, updates, searches and deletions of real objects are checked too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
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
from tests.support.chat_server import ChatServer
from tests.support.servers import ServerProcess, serve

MAX_EXAMPLES = 25
STATEFUL_SEQUENCES = 60
STATEFUL_STEPS = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ADMIN_KEY = "sk-admin-schemathesis-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory, chat: ChatServer) -> Iterator[ServerProcess]:
    """A server of its own: generated requests create, change and delete what they like. /v1/responses
    generates with the tests' chat server, so its answers are checked too (not only its errors)."""
    yield from serve(
        tmp_path_factory.mktemp("server-schemathesis"), ADMIN_API_KEY=ADMIN_KEY, CHAT_COMPLETIONS_BASE_URL=chat.base_url
    )


@pytest.fixture(scope="module")
def project_key(keyed_server: ServerProcess) -> str:
    """A project key with the write role: what the /v1 (non-organization) operations need."""
    return new_project(keyed_server, ADMIN_KEY, name="schemathesis", role="write")[1]


def _document() -> dict[str, Any]:
    """The document the server serves (test_the_server_serves_the_document_tested checks it is)."""
    from vector_store_api.app import all_routers, create_app

    return create_app(all_routers(), services=lambda: None, serve_openapi=True).openapi()


# Loaded at collection, so pytest shows one test per operation; the calls go to `keyed_server`.
schema = schemathesis.openapi.from_dict(
    _document(), config=SchemathesisConfig.from_dict({"generation": {"mode": "all"}})
)


def test_the_server_serves_the_document_tested(keyed_server: ServerProcess) -> None:
    response = httpx.get(keyed_server.base_url + "/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.json() == _document()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_response_matches_the_document(case: Any, keyed_server: ServerProcess, project_key: str) -> None:
    case.call_and_validate(
        base_url=keyed_server.base_url, headers=auth(case, project_key), checks=CHECKS, timeout=30
    )


def test_sequences_of_calls_on_real_objects_match_the_document(keyed_server: ServerProcess, project_key: str) -> None:
    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": keyed_server.base_url, "headers": auth(case, project_key), "timeout": 30}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_SEQUENCES,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )


def auth(case: Any, project_key: str) -> dict[str, str]:
    """The organization API takes the admin key; everything else the project's key."""
    key = ADMIN_KEY if case.path.startswith("/v1/organization") else project_key
    return {"Authorization": f"Bearer {key}"}
