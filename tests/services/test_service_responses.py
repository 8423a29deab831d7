"""The Responses service in-process, on the real embedded PostgreSQL and the test chat server: what
the e2e suite cannot time, a database outage between the answer and its storing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from service_harness import ManualQueue, close_services, ingest, new_store, new_tenant, service_settings

from vector_store_api.container import Services, build_services
from vector_store_api.errors import DependencyDown
from vector_store_api.models.responses import CreateResponseRequest, FileSearchTool
from vector_store_api.services.principal import Principal


@pytest.fixture(scope="module")
def responding(services_db_url, chat, tmp_path_factory) -> Iterator[Services]:
    settings = service_settings(
        services_db_url, tmp_path_factory.mktemp("responses"), chat_completions_base_url=chat.base_url
    )
    built = build_services(settings, queue_factory=ManualQueue)
    yield built
    close_services(built)


def question_over_a_store(services: Services) -> tuple[Principal, CreateResponseRequest, FileSearchTool]:
    tenant = new_tenant()
    store = new_store(services, tenant, name="handbook")
    assert isinstance(services.queue, ManualQueue)
    ingest(services, services.queue, tenant, store.id, "leave.txt", "Parents get sixteen weeks of paid leave.")
    caller = Principal("key_test", tenant, "read", None, 0, 0, keys_enabled=False)
    request = CreateResponseRequest.model_validate({"model": "m", "input": "weeks of leave?"})
    return caller, request, FileSearchTool(type="file_search", vector_store_ids=[store.id])


def open_circuit_after_the_answer(services: Services, events: Iterator[dict]) -> list[dict]:
    """Consume a run's events; once the answer is done, the database is found down (its breaker opens)."""
    seen = []
    for event in events:
        seen.append(event)
        if event["type"] == "response.output_item.done" and event["item"]["type"] == "message":
            services.db.breaker.failed()
    return seen


def test_a_database_outage_before_storing_still_ends_the_stream(responding):
    caller, request, tool = question_over_a_store(responding)
    run = responding.responses.prepare(caller, request, tool)
    events = open_circuit_after_the_answer(responding, responding.responses.run(run))
    terminal = events[-1]
    assert terminal["type"] == "response.failed", [e["type"] for e in events]
    assert terminal["response"]["status"] == "failed" and terminal["response"]["error"]["code"] == "server_error"
    assert "database" in terminal["response"]["error"]["message"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    responding.db.breaker.succeeded()


def test_a_database_outage_before_storing_is_a_503_without_streaming(responding):
    caller, request, tool = question_over_a_store(responding)
    run = responding.responses.prepare(caller, request, tool)
    open_circuit_after_the_answer(responding, responding.responses.run(run))
    assert isinstance(run.error, DependencyDown)  # create() raises it: the API's 503
    responding.db.breaker.succeeded()
    assert responding.catalog.get_response(caller.project_id or "", run.response.id) is None  # not half-stored
