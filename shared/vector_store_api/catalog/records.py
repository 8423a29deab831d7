"""The catalog's records: what the services get besides the OpenAI objects, and the rows behind both.

Counts and usage are always computed from the attachment rows (never kept as counters), so they
cannot drift from the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from ..models.admin import Role
from ..models.common import FileCounts, StaticChunking, StaticChunkingStrategyObject
from ..models.files import FileObject
from ..models.vector_stores import (
    LastError,
    StoreExpiresAfterObject,
    VectorStore,
    VectorStoreFile,
    store_status,
)
from ..vector_index.base import StoreRef
from .paging import Row

if TYPE_CHECKING:
    from psycopg import Cursor

DAY = 86_400

RowT = TypeVar("RowT")


def one_row(cursor: Cursor[RowT]) -> RowT:
    """The row of a query that always returns one: an aggregate, an upsert's RETURNING, a row this
    transaction has just locked."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the query returned no row")
    return row


class ProjectRow(TypedDict):
    """A `projects` row."""

    id: str
    name: str
    created_at: int
    archived_at: int | None
    limits: dict[str, Any]  # rate limit and quota names to values (overrides of the defaults)


class KeyRow(TypedDict):
    """An `api_keys` row as the catalog returns it (never the key's hash)."""

    id: str
    project_id: str | None  # None: an organization admin key
    name: str
    role: Role
    vector_store_ids: list[str] | None
    requests_per_minute: int | None
    redacted_value: str
    created_at: int
    last_used_at: int | None
    expires_at: int | None
    revoked_at: int | None


@dataclass(frozen=True)
class StoredFile:
    object: FileObject
    tenant_id: str
    blob_key: str


@dataclass(frozen=True)
class StoreConfig:
    """The parts of a store that decide how its files are embedded and indexed."""

    tenant_id: str
    store_id: str
    embedding_provider: str
    embedding_model: str
    embedding_dimension: int
    provider_id: str
    expired: bool
    last_active_at: int
    chunk_count: int | None = None  # chunks held or being ingested, where read (for search planning)

    @property
    def ref(self) -> StoreRef:
        return StoreRef(self.tenant_id, self.store_id, self.embedding_dimension, self.provider_id, self.chunk_count)


@dataclass(frozen=True)
class Attachment:
    """What the ingest worker needs for one vector store file."""

    tenant_id: str
    store: StoreConfig
    file_id: str
    filename: str
    blob_key: str
    status: str
    attributes: dict[str, Any] | None
    chunk_size: int
    chunk_overlap: int
    resumes: int = 0  # times a job on it died without settling it (see resume_stuck)


@dataclass(frozen=True)
class NewAttachment:
    file_id: str
    attributes: dict[str, Any] | None
    chunking: StaticChunking


COUNTS_SQL = """
    count(*) FILTER (WHERE status = 'in_progress') AS in_progress,
    count(*) FILTER (WHERE status = 'completed')   AS completed,
    count(*) FILTER (WHERE status = 'failed')      AS failed,
    count(*) FILTER (WHERE status = 'cancelled')   AS cancelled,
    count(*)                                       AS total
"""

STORE_SELECT = f"""
    SELECT s.*, c.*, u.*
    FROM vector_stores s
    CROSS JOIN LATERAL (SELECT {COUNTS_SQL} FROM vector_store_files f WHERE f.vector_store_id = s.id) c
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(usage_bytes) FILTER (WHERE status = 'completed'), 0)::bigint AS usage_bytes,
               coalesce(sum(chunk_count) FILTER (WHERE status = 'completed'), 0)::bigint AS chunk_count
        FROM vector_store_files f WHERE f.vector_store_id = s.id
    ) u
"""

STORE_CONFIG_SELECT = """
    SELECT s.*, (SELECT coalesce(sum(chunk_count), 0) FROM vector_store_files f
                 WHERE f.vector_store_id = s.id AND f.status IN ('in_progress', 'completed')) AS chunk_count
    FROM vector_stores s
"""

ATTACHMENT_COLUMNS = """
    f.vector_store_id, f.file_id, f.created_at, f.status, f.usage_bytes, f.last_error,
    f.attributes, f.chunk_size, f.chunk_overlap, f.chunk_count
"""


def file_counts(row: Row) -> FileCounts:
    return FileCounts(
        in_progress=row["in_progress"],
        completed=row["completed"],
        failed=row["failed"],
        cancelled=row["cancelled"],
        total=row["total"],
    )


def _store_expires_at(row: Row) -> int | None:
    days = row["expires_after_days"]
    return row["last_active_at"] + days * DAY if days else None


def to_store(row: Row, now: int) -> VectorStore:
    counts = file_counts(row)
    expires_at = _store_expires_at(row)
    return VectorStore(
        id=row["id"],
        created_at=row["created_at"],
        name=row["name"],
        description=row["description"],
        usage_bytes=row["usage_bytes"],
        file_counts=counts,
        status=store_status(counts, expires_at, now),
        last_active_at=row["last_active_at"],
        metadata=row["metadata"],
        expires_after=(
            StoreExpiresAfterObject(anchor="last_active_at", days=row["expires_after_days"])
            if row["expires_after_days"]
            else None
        ),
        expires_at=expires_at,
        embedding_model=row["embedding_model"],
        embedding_dimension=row["embedding_dimension"],
        provider_id=row["provider_id"],
    )


def to_store_config(row: Row, now: int) -> StoreConfig:
    expires_at = _store_expires_at(row)
    return StoreConfig(
        tenant_id=row["tenant_id"],
        store_id=row["id"],
        embedding_provider=row["embedding_provider"],
        embedding_model=row["embedding_model"],
        embedding_dimension=row["embedding_dimension"],
        provider_id=row["provider_id"],
        expired=expires_at is not None and expires_at <= now,
        last_active_at=row["last_active_at"],
        chunk_count=row.get("chunk_count"),
    )


def to_file(row: Row) -> FileObject:
    return FileObject(
        id=row["id"],
        bytes=row["bytes"],
        created_at=row["created_at"],
        filename=row["filename"],
        purpose=row["purpose"],
        expires_at=row["expires_at"],
    )


def to_attachment(row: Row) -> VectorStoreFile:
    return VectorStoreFile(
        id=row["file_id"],
        created_at=row["created_at"],
        vector_store_id=row["vector_store_id"],
        status=row["status"],
        usage_bytes=row["usage_bytes"],
        last_error=LastError(**row["last_error"]) if row["last_error"] else None,
        attributes=row["attributes"],
        chunk_count=row["chunk_count"],
        chunking_strategy=StaticChunkingStrategyObject(
            static=StaticChunking(max_chunk_size_tokens=row["chunk_size"], chunk_overlap_tokens=row["chunk_overlap"])
        ),
    )
