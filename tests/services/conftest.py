"""Fast, in-process tests of the services on the real embedded PostgreSQL (no HTTP server, no mocks).

`services` is the real Services object, wired by `build_services` (container.py) from Settings as
the local server is: the deterministic `hash` embedder, a local blob store in a temporary folder,
and the in-process `ManualQueue`, so a test sees a file `in_progress` and decides when the pipeline
runs. Its catalog is a database of its own in the session's embedded server (`pg_url`): creating
keys switches key checking on for every user of a database, which must not reach the other suites.

Every test gets fresh tenants (`tenant`, `other_tenant`, `project`), so no test sees another's objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from service_harness import (
    ORG_ADMIN,
    ManualQueue,
    close_services,
    create_database,
    drop_database,
    new_tenant,
    service_settings,
)

from vector_store_api.catalog.database import Database
from vector_store_api.container import Services, build_services
from vector_store_api.models.admin import CreateProjectRequest


@pytest.fixture(scope="session")
def services_db_url(pg_url) -> Iterator[str]:
    url = create_database(pg_url, "services")
    yield url
    drop_database(pg_url, url)


@pytest.fixture(scope="session")
def services(services_db_url, tmp_path_factory) -> Iterator[Services]:
    built = build_services(
        service_settings(services_db_url, tmp_path_factory.mktemp("services")), queue_factory=ManualQueue
    )
    yield built
    close_services(built)


@pytest.fixture(scope="session")
def database(services) -> Database:
    """The services' own database (for this suite, instead of the top-level fixture of this name)."""
    return services.db


@pytest.fixture
def queue(services) -> Iterator[ManualQueue]:
    assert isinstance(services.queue, ManualQueue)
    yield services.queue
    services.queue.jobs.clear()  # nothing a test left unprocessed reaches the next one


@pytest.fixture
def tenant() -> str:
    return new_tenant()


@pytest.fixture
def other_tenant() -> str:
    return new_tenant()


@pytest.fixture
def project(services) -> str:
    """A fresh project: its id is its tenant id, with limits and quotas an org admin may set."""
    return services.projects.create_project(ORG_ADMIN, CreateProjectRequest(name=f"p-{uuid.uuid4().hex[:6]}")).id
