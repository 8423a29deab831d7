"""What the service tests share: the manual ingest queue, databases of their own, and short helpers.

(A module of its own rather than conftest.py, which test modules cannot import by name: every suite
has one.)
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from vector_store_api.catalog.database import Database
from vector_store_api.container import Services
from vector_store_api.models.common import Page, PageRequest
from vector_store_api.models.files import FileObject
from vector_store_api.models.vector_stores import (
    CreateVectorStoreFileRequest,
    CreateVectorStoreRequest,
    VectorStore,
    VectorStoreFile,
)
from vector_store_api.queue.base import IngestJob
from vector_store_api.services.ingest import IngestPipeline, IngestResult
from vector_store_api.services.principal import Principal
from vector_store_api.settings import Settings

# An organization admin, as the bootstrap admin key authenticates (the services take a Principal).
ORG_ADMIN = Principal("key_bootstrap", None, "admin", None, 0, 0)


class ManualQueue:
    """An in-process IngestQueue that only records jobs; `run()` processes them on the caller's
    thread through the real pipeline (what a worker does), so a test decides when ingestion happens."""

    def __init__(self, pipeline: IngestPipeline):
        self.pipeline = pipeline
        self.jobs: list[IngestJob] = []

    def enqueue(self, jobs: Sequence[IngestJob]) -> None:
        self.jobs.extend(jobs)

    def run(self, tenant_id: str | None = None) -> list[IngestResult]:
        """Process the queued jobs (only one tenant's, when given), in order."""
        mine = [job for job in self.jobs if tenant_id is None or job.tenant_id == tenant_id]
        self.jobs = [job for job in self.jobs if job not in mine]
        return [self.pipeline.process(job) for job in mine]


# ------------------------------------------------------------------------------ databases


def create_database(pg_url: str, prefix: str) -> str:
    """A new, empty database in the session's server: its conninfo (migrated by the first Database())."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(pg_url, dbname=name)


def drop_database(pg_url: str, url: str) -> None:
    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def service_settings(database_url: str, data_dir: Any, **overrides: Any) -> Settings:
    """Settings as the local server reads them, with the deterministic offline embedder."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "embedding_provider": "hash",
        "embedding_model": None,
        "embedding_dimension": None,
        "vector_backend": "pgvector",
        "opensearch_url": None,
        "db_pool_min_size": 1,
        "db_pool_max_size": 4,
        "admin_api_key": None,
        "api_key_cache_seconds": 60.0,
        **overrides,
    }
    return Settings(**values)


def close_services(services: Services) -> None:
    """Services.close() without its stop_embedded_servers(): the session's server is not theirs."""
    services.usage.flush()
    services.search.close()
    services.db.close()


def sql_execute(database: Database, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    with database.connection() as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def chunk_rows(database: Database, store_id: str, file_id: str | None = None) -> int:
    """Chunk rows in pgvector's table, whatever the services report."""
    query = "SELECT count(*) AS n FROM chunks WHERE vector_store_id = %s"
    params = [store_id]
    if file_id is not None:
        query += " AND file_id = %s"
        params.append(file_id)
    return sql_execute(database, query, params)[0]["n"]


# ------------------------------------------------------------------------------ objects


def new_tenant() -> str:
    return f"tenant_{uuid.uuid4().hex}"


def upload(services: Services, tenant_id: str, filename: str, data: bytes | str) -> FileObject:
    raw = data.encode() if isinstance(data, str) else data
    return services.files.upload(tenant_id, filename, io.BytesIO(raw), "assistants")


def new_store(services: Services, tenant_id: str, **fields: Any) -> VectorStore:
    return services.stores.create(tenant_id, CreateVectorStoreRequest(**fields))


def attach(services: Services, tenant_id: str, store_id: str, file_id: str, **fields: Any) -> VectorStoreFile:
    return services.stores.attach(tenant_id, store_id, CreateVectorStoreFileRequest(file_id=file_id, **fields))


def ingest(
    services: Services,
    queue: ManualQueue,
    tenant_id: str,
    store_id: str,
    filename: str,
    data: bytes | str,
    **fields: Any,
) -> VectorStoreFile:
    """Upload, attach and run the pipeline: the settled vector store file."""
    file = upload(services, tenant_id, filename, data)
    attach(services, tenant_id, store_id, file.id, **fields)
    queue.run(tenant_id)
    return services.stores.retrieve_file(tenant_id, store_id, file.id)


def page(limit: int = 20, order: str = "desc", after: str | None = None, before: str | None = None) -> PageRequest:
    return PageRequest(limit=limit, order=order, after=after, before=before)  # type: ignore[arg-type]


def ids(listing: Page) -> list[str]:
    return [item.id for item in listing.items]
