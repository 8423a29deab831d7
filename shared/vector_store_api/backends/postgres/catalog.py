"""Files, vector stores, attachments and batches in PostgreSQL.

Counts and usage are always computed from the attachment rows (never kept as counters), so they
cannot drift from the files. Every query is scoped by tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Literal, Sequence

from psycopg.types.json import Jsonb

from ...errors import QuotaExceeded
from ...models.admin import QuotaUsage, VectorStoreStats
from ...models.common import FileCounts, Page, StaticChunking, StaticChunkingStrategyObject
from ...models.files import FileObject
from ...models.vector_stores import (
    LastError,
    StoreExpiresAfterObject,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
)
from ..base import StoreRef
from .database import Database

Order = Literal["asc", "desc"]
DAY = 86_400


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


@dataclass(frozen=True)
class NewAttachment:
    file_id: str
    attributes: dict[str, Any] | None
    chunking: StaticChunking


_COUNTS_SQL = """
    count(*) FILTER (WHERE status = 'in_progress') AS in_progress,
    count(*) FILTER (WHERE status = 'completed')   AS completed,
    count(*) FILTER (WHERE status = 'failed')      AS failed,
    count(*) FILTER (WHERE status = 'cancelled')   AS cancelled,
    count(*)                                       AS total
"""

_STORE_SELECT = f"""
    SELECT s.*, c.*, u.*
    FROM vector_stores s
    CROSS JOIN LATERAL (SELECT {_COUNTS_SQL} FROM vector_store_files f WHERE f.vector_store_id = s.id) c
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(usage_bytes) FILTER (WHERE status = 'completed'), 0)::bigint AS usage_bytes,
               coalesce(sum(chunk_count) FILTER (WHERE status = 'completed'), 0)::bigint AS chunk_count
        FROM vector_store_files f WHERE f.vector_store_id = s.id
    ) u
"""

_STORE_CONFIG_SELECT = """
    SELECT s.*, (SELECT coalesce(sum(chunk_count), 0) FROM vector_store_files f
                 WHERE f.vector_store_id = s.id AND f.status IN ('in_progress', 'completed')) AS chunk_count
    FROM vector_stores s
"""

_ATTACHMENT_COLUMNS = """
    f.vector_store_id, f.file_id, f.created_at, f.status, f.usage_bytes, f.last_error,
    f.attributes, f.chunk_size, f.chunk_overlap
"""


def _counts(row: dict) -> FileCounts:
    return FileCounts(
        in_progress=row["in_progress"],
        completed=row["completed"],
        failed=row["failed"],
        cancelled=row["cancelled"],
        total=row["total"],
    )


def _store_expires_at(row: dict) -> int | None:
    days = row["expires_after_days"]
    return row["last_active_at"] + days * DAY if days else None


def _to_store(row: dict, now: int) -> VectorStore:
    counts = _counts(row)
    expires_at = _store_expires_at(row)
    if expires_at is not None and expires_at <= now:
        status = "expired"
    elif counts.in_progress:
        status = "in_progress"
    else:
        status = "completed"
    return VectorStore(
        id=row["id"],
        created_at=row["created_at"],
        name=row["name"],
        description=row["description"],
        usage_bytes=row["usage_bytes"],
        file_counts=counts,
        status=status,
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


def _to_store_config(row: dict, now: int) -> StoreConfig:
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


def _to_file(row: dict) -> FileObject:
    return FileObject(
        id=row["id"],
        bytes=row["bytes"],
        created_at=row["created_at"],
        filename=row["filename"],
        purpose=row["purpose"],
        expires_at=row["expires_at"],
    )


def _to_attachment(row: dict) -> VectorStoreFile:
    return VectorStoreFile(
        id=row["file_id"],
        created_at=row["created_at"],
        vector_store_id=row["vector_store_id"],
        status=row["status"],
        usage_bytes=row["usage_bytes"],
        last_error=LastError(**row["last_error"]) if row["last_error"] else None,
        attributes=row["attributes"],
        chunking_strategy=StaticChunkingStrategyObject(
            static=StaticChunking(max_chunk_size_tokens=row["chunk_size"], chunk_overlap_tokens=row["chunk_overlap"])
        ),
    )


def _batch_status(cancelled: bool, counts: FileCounts) -> str:
    if cancelled:
        return "cancelled"
    if counts.in_progress:
        return "in_progress"
    if counts.total and counts.failed == counts.total:
        return "failed"
    return "completed"


def trim_page(rows: list[dict], limit: int, reverse: bool) -> tuple[list[dict], bool]:
    has_more = len(rows) > limit
    rows = rows[:limit]
    if reverse:
        rows.reverse()
    return rows, has_more


def keyset(
    column: str, order: Order, after: Any | None, before: Any | None
) -> tuple[str, list[Any], str, bool]:
    """WHERE fragment, its params, ORDER BY and whether to reverse the fetched rows.

    `after` continues the list past the cursor; `before` returns the items immediately
    preceding it, in the list's own order (so it is fetched backwards and reversed).
    """
    older, newer = ("<", ">") if order == "desc" else (">", "<")
    clauses, params = [], []
    if after is not None:
        clauses.append(f"{column} {older} %s")
        params.append(after)
    if before is not None:
        clauses.append(f"{column} {newer} %s")
        params.append(before)
    forward = "DESC" if order == "desc" else "ASC"
    backward = "ASC" if order == "desc" else "DESC"
    reverse = before is not None and after is None
    direction = backward if reverse else forward
    where = (" AND " + " AND ".join(clauses)) if clauses else ""
    return where, params, f"ORDER BY {column} {direction}", reverse


def _lock_quotas(conn, tenant_id: str) -> None:
    """Serialise a tenant's quota checks with their writes, so concurrent requests cannot overshoot."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("quota:" + tenant_id,))


def _over(used: int, adding: int, limit: int) -> bool:
    return limit > 0 and used + adding > limit


class Catalog:
    def __init__(self, db: Database):
        self._db = db

    # ---------------------------------------------------------------- files
    def insert_file(
        self, tenant_id: str, file: FileObject, blob_key: str, max_files: int = 0, max_bytes: int = 0
    ) -> None:
        """Insert a File, within the project's file-count and byte quotas (0: unlimited)."""
        with self._db.connection() as conn, conn.transaction():
            if max_files or max_bytes:
                _lock_quotas(conn, tenant_id)
                used = conn.execute(
                    "SELECT count(*) AS files, coalesce(sum(bytes), 0)::bigint AS bytes FROM files"
                    " WHERE tenant_id = %s AND (expires_at IS NULL OR expires_at > %s)",
                    (tenant_id, file.created_at),
                ).fetchone()
                if _over(used["files"], 1, max_files):
                    raise QuotaExceeded(
                        f"File quota exceeded: the project has {used['files']} of its {max_files} files."
                        " Delete files, or ask an admin to raise max_files.",
                        param="file",
                    )
                if _over(used["bytes"], file.bytes, max_bytes):
                    raise QuotaExceeded(
                        f"Storage quota exceeded: the project stores {used['bytes']} of its {max_bytes} bytes and"
                        f" this file has {file.bytes}. Delete files, or ask an admin to raise max_bytes.",
                        param="file",
                    )
            conn.execute(
                "INSERT INTO files (id, tenant_id, created_at, bytes, filename, purpose, expires_at, blob_key)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (file.id, tenant_id, file.created_at, file.bytes, file.filename, file.purpose, file.expires_at, blob_key),
            )

    def get_file(self, tenant_id: str, file_id: str, now: int) -> StoredFile | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT * FROM files WHERE tenant_id = %s AND id = %s AND (expires_at IS NULL OR expires_at > %s)",
                (tenant_id, file_id, now),
            ).fetchone()
        return StoredFile(_to_file(row), row["tenant_id"], row["blob_key"]) if row else None

    def existing_file_ids(self, tenant_id: str, file_ids: Sequence[str], now: int) -> set[str]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT id FROM files WHERE tenant_id = %s AND id = ANY(%s) AND (expires_at IS NULL OR expires_at > %s)",
                (tenant_id, list(file_ids), now),
            ).fetchall()
        return {row["id"] for row in rows}

    def list_files(
        self, tenant_id: str, purpose: str | None, limit: int, order: Order, after: str | None, now: int
    ) -> Page:
        where, params, order_by, reverse = keyset("id", order, after, None)
        purpose_sql = " AND purpose = %s" if purpose else ""
        purpose_params = [purpose] if purpose else []
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT * FROM files WHERE tenant_id = %s AND (expires_at IS NULL OR expires_at > %s)"
                f"{purpose_sql}{where} {order_by} LIMIT %s",
                [tenant_id, now, *purpose_params, *params, limit + 1],
            ).fetchall()
        rows, has_more = trim_page(rows, limit, reverse)
        return Page([_to_file(r) for r in rows], has_more)

    def delete_file(
        self, tenant_id: str, file_id: str, store_scope: frozenset[str] | None = None
    ) -> tuple[str, list[StoreRef]] | None:
        """Delete a file and (by cascade) its attachments and chunks. Returns its blob key and stores.

        With `store_scope`, a file attached to any store outside it is left alone (PermissionError)."""
        with self._db.connection() as conn, conn.transaction():
            stores = conn.execute(
                "SELECT s.id, s.embedding_dimension, s.provider_id FROM vector_store_files f"
                " JOIN vector_stores s ON s.id = f.vector_store_id WHERE f.tenant_id = %s AND f.file_id = %s"
                " FOR UPDATE OF f",
                (tenant_id, file_id),
            ).fetchall()
            outside = sorted(s["id"] for s in stores if store_scope is not None and s["id"] not in store_scope)
            if outside:
                raise PermissionError(outside)
            row = conn.execute(
                "DELETE FROM files WHERE tenant_id = %s AND id = %s RETURNING blob_key", (tenant_id, file_id)
            ).fetchone()
        if row is None:
            return None
        return row["blob_key"], [StoreRef(tenant_id, s["id"], s["embedding_dimension"], s["provider_id"]) for s in stores]

    def expired_files(self, now: int, limit: int = 500) -> list[tuple[str, str]]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT tenant_id, id FROM files WHERE expires_at IS NOT NULL AND expires_at <= %s LIMIT %s",
                (now, limit),
            ).fetchall()
        return [(r["tenant_id"], r["id"]) for r in rows]

    # --------------------------------------------------------------- stores
    def insert_store(
        self,
        tenant_id: str,
        store_id: str,
        created_at: int,
        name: str,
        description: str | None,
        metadata: dict[str, str] | None,
        expires_after_days: int | None,
        embedding_provider: str,
        embedding_model: str,
        embedding_dimension: int,
        provider_id: str,
    ) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO vector_stores (id, tenant_id, created_at, name, description, metadata,"
                " expires_after_days, last_active_at, embedding_provider, embedding_model,"
                " embedding_dimension, provider_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    store_id,
                    tenant_id,
                    created_at,
                    name,
                    description,
                    Jsonb(metadata) if metadata is not None else None,
                    expires_after_days,
                    created_at,
                    embedding_provider,
                    embedding_model,
                    embedding_dimension,
                    provider_id,
                ),
            )

    def get_store(self, tenant_id: str, store_id: str, now: int) -> VectorStore | None:
        with self._db.connection() as conn:
            row = conn.execute(
                _STORE_SELECT + " WHERE s.tenant_id = %s AND s.id = %s", (tenant_id, store_id)
            ).fetchone()
        return _to_store(row, now) if row else None

    def get_store_config(self, tenant_id: str, store_id: str, now: int) -> StoreConfig | None:
        with self._db.connection() as conn:
            row = conn.execute(
                _STORE_CONFIG_SELECT + " WHERE s.tenant_id = %s AND s.id = %s", (tenant_id, store_id)
            ).fetchone()
        return _to_store_config(row, now) if row else None

    def list_stores(
        self,
        tenant_id: str,
        limit: int,
        order: Order,
        after: str | None,
        before: str | None,
        now: int,
        only: Iterable[str] | None = None,
    ) -> Page:
        """A page of the tenant's stores; `only` restricts it to those ids (a scoped key's stores)."""
        rows, has_more = self._store_rows(tenant_id, limit, order, after, before, only)
        return Page([_to_store(r, now) for r in rows], has_more)

    def store_stats(
        self, tenant_id: str, limit: int, order: Order, after: str | None, before: str | None
    ) -> Page:
        rows, has_more = self._store_rows(tenant_id, limit, order, after, before, None)
        return Page(
            [
                VectorStoreStats(
                    id=r["id"], name=r["name"], usage_bytes=r["usage_bytes"], chunk_count=r["chunk_count"],
                    file_counts=_counts(r),
                )
                for r in rows
            ],
            has_more,
        )

    def _store_rows(self, tenant_id, limit, order, after, before, only) -> tuple[list[dict], bool]:
        where, params, order_by, reverse = keyset("s.id", order, after, before)
        only_sql = " AND s.id = ANY(%s)" if only is not None else ""
        with self._db.connection() as conn:
            rows = conn.execute(
                _STORE_SELECT + f" WHERE s.tenant_id = %s{only_sql}{where} {order_by} LIMIT %s",
                [tenant_id, *([list(only)] if only is not None else []), *params, limit + 1],
            ).fetchall()
        return trim_page(rows, limit, reverse)

    def quota_usage(self, tenant_id: str, now: int) -> QuotaUsage:
        """What a tenant stores now: files and their bytes, and chunks in every store (reserved included)."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT f.files, f.bytes, (SELECT coalesce(sum(chunk_count), 0)::bigint FROM vector_store_files"
                "         WHERE tenant_id = %s AND status IN ('in_progress', 'completed')) AS chunks"
                " FROM (SELECT count(*) AS files, coalesce(sum(bytes), 0)::bigint AS bytes FROM files"
                "       WHERE tenant_id = %s AND (expires_at IS NULL OR expires_at > %s)) f",
                (tenant_id, tenant_id, now),
            ).fetchone()
        return QuotaUsage(files=row["files"], bytes=row["bytes"], chunks=row["chunks"])

    def update_store(self, tenant_id: str, store_id: str, changes: dict[str, Any]) -> bool:
        """Apply column changes (keys from a fixed set chosen by the service)."""
        allowed = {"name", "metadata", "expires_after_days", "last_active_at"}
        assert set(changes) <= allowed, changes
        if not changes:
            return self._store_exists(tenant_id, store_id)
        columns = ", ".join(f"{column} = %s" for column in changes)
        values = [Jsonb(v) if k == "metadata" and v is not None else v for k, v in changes.items()]
        with self._db.connection() as conn:
            cur = conn.execute(
                f"UPDATE vector_stores SET {columns} WHERE tenant_id = %s AND id = %s",
                [*values, tenant_id, store_id],
            )
            return cur.rowcount == 1

    def _store_exists(self, tenant_id: str, store_id: str) -> bool:
        with self._db.connection() as conn:
            return (
                conn.execute(
                    "SELECT 1 FROM vector_stores WHERE tenant_id = %s AND id = %s", (tenant_id, store_id)
                ).fetchone()
                is not None
            )

    def touch_store(self, tenant_id: str, store_id: str, now: int) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE vector_stores SET last_active_at = %s WHERE tenant_id = %s AND id = %s AND last_active_at < %s",
                (now, tenant_id, store_id, now),
            )

    def delete_store(self, tenant_id: str, store_id: str) -> bool:
        """Delete a store with its attachments, batches and chunks, in one transaction (by cascade)."""
        with self._db.connection() as conn:
            cur = conn.execute("DELETE FROM vector_stores WHERE tenant_id = %s AND id = %s", (tenant_id, store_id))
            return cur.rowcount == 1

    def expired_stores_with_files(self, now: int, limit: int = 100) -> list[tuple[str, str]]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT s.tenant_id, s.id FROM vector_stores s WHERE s.expires_after_days IS NOT NULL"
                " AND s.last_active_at + s.expires_after_days * %s <= %s"
                " AND EXISTS (SELECT 1 FROM vector_store_files f WHERE f.vector_store_id = s.id) LIMIT %s",
                (DAY, now, limit),
            ).fetchall()
        return [(r["tenant_id"], r["id"]) for r in rows]

    def detach_all(self, tenant_id: str, store_id: str) -> list[str]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "DELETE FROM vector_store_files WHERE tenant_id = %s AND vector_store_id = %s RETURNING file_id",
                (tenant_id, store_id),
            ).fetchall()
        return [r["file_id"] for r in rows]

    # ---------------------------------------------------------- attachments
    def attach(
        self, tenant_id: str, store_id: str, entries: Sequence[NewAttachment], now: int, max_store_files: int = 0
    ) -> list[str]:
        """Attach files (already-attached ones are left as they are). Returns the newly attached ids.

        All or nothing: if the new files would take the store past `max_store_files` (0: unlimited),
        QuotaExceeded and nothing is attached.
        """
        with self._db.connection() as conn, conn.transaction():
            return self._attach(conn, tenant_id, store_id, entries, now, None, max_store_files)

    def _attach(self, conn, tenant_id, store_id, entries, now, batch_id, max_store_files) -> list[str]:
        """With `batch_id`, the batch row must already exist in this transaction; every entry joins
        the batch whether or not it was attached before."""
        if not entries:
            return []
        if max_store_files:
            _lock_quotas(conn, tenant_id)
            row = conn.execute(
                "SELECT (SELECT count(*) FROM vector_store_files WHERE vector_store_id = %s) AS attached,"
                "       (SELECT count(*) FROM unnest(%s::text[]) AS t(file_id) WHERE NOT EXISTS ("
                "           SELECT 1 FROM vector_store_files f WHERE f.vector_store_id = %s AND f.file_id = t.file_id"
                "       )) AS adding",
                (store_id, [e.file_id for e in entries], store_id),
            ).fetchone()
            if _over(row["attached"], row["adding"], max_store_files):
                raise QuotaExceeded(
                    f"Vector store file quota exceeded: {store_id} has {row['attached']} of its {max_store_files}"
                    f" files and this request adds {row['adding']}. Nothing was attached.",
                    param="file_ids" if batch_id else "file_id",
                )
        # Positions are taken in entry order, so a batch lists in the order it was given.
        seqs = [
            r["seq"]
            for r in conn.execute(
                "SELECT nextval('attachment_seq') AS seq FROM generate_series(1, %s)", (len(entries),)
            ).fetchall()
        ]
        rows = conn.execute(
            """
            WITH input AS (
                SELECT * FROM unnest(%s::text[], %s::jsonb[], %s::int[], %s::int[], %s::bigint[])
                    AS t(file_id, attributes, chunk_size, chunk_overlap, seq)
            ), inserted AS (
                INSERT INTO vector_store_files (vector_store_id, file_id, tenant_id, seq, created_at, status,
                                                attributes, chunk_size, chunk_overlap)
                SELECT %s, file_id, %s, seq, %s, 'in_progress', attributes, chunk_size, chunk_overlap FROM input
                ON CONFLICT (vector_store_id, file_id) DO NOTHING
                RETURNING file_id, seq
            )
            INSERT INTO vector_store_file_positions (vector_store_id, file_id, seq)
            SELECT %s, file_id, seq FROM inserted
            ON CONFLICT (vector_store_id, file_id) DO UPDATE SET seq = EXCLUDED.seq
            RETURNING file_id, seq
            """,
            (
                [e.file_id for e in entries],
                [Jsonb(e.attributes) if e.attributes is not None else None for e in entries],
                [e.chunking.max_chunk_size_tokens for e in entries],
                [e.chunking.chunk_overlap_tokens for e in entries],
                seqs,
                store_id,
                tenant_id,
                now,
                store_id,
            ),
        ).fetchall()
        if batch_id is not None:
            conn.execute(
                "INSERT INTO file_batch_files (batch_id, file_id)"
                " SELECT %s, file_id FROM unnest(%s::text[]) WITH ORDINALITY AS t(file_id, ord) ORDER BY ord"
                " ON CONFLICT DO NOTHING",
                (batch_id, [e.file_id for e in entries]),
            )
        return [r["file_id"] for r in sorted(rows, key=lambda r: r["seq"])]

    def get_attachment(self, tenant_id: str, store_id: str, file_id: str) -> VectorStoreFile | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {_ATTACHMENT_COLUMNS} FROM vector_store_files f"
                " WHERE f.tenant_id = %s AND f.vector_store_id = %s AND f.file_id = %s",
                (tenant_id, store_id, file_id),
            ).fetchone()
        return _to_attachment(row) if row else None

    def list_attachments(
        self,
        tenant_id: str,
        store_id: str,
        status: str | None,
        limit: int,
        order: Order,
        after: str | None,
        before: str | None,
        batch_id: str | None = None,
    ) -> Page:
        """List a store's files, or a batch's files, in attachment order."""
        with self._db.connection() as conn:
            if batch_id is None:
                source = "vector_store_files f"
                seq_column = "f.seq"
                scope_sql, scope_params = "", []
                cursor_sql = "SELECT seq FROM vector_store_file_positions WHERE vector_store_id = %s AND file_id = %s"
                cursor_scope = store_id
            else:
                source = "file_batch_files b JOIN vector_store_files f ON f.file_id = b.file_id"
                seq_column = "b.seq"
                scope_sql, scope_params = " AND b.batch_id = %s", [batch_id]
                cursor_sql = "SELECT seq FROM file_batch_files WHERE batch_id = %s AND file_id = %s"
                cursor_scope = batch_id
            cursors = []
            for name, value in (("after", after), ("before", before)):
                if value is None:
                    cursors.append(None)
                    continue
                row = conn.execute(cursor_sql, (cursor_scope, value)).fetchone()
                if row is None:
                    raise LookupError(name, value)
                cursors.append(row["seq"])
            where, params, order_by, reverse = keyset(seq_column, order, cursors[0], cursors[1])
            status_sql = " AND f.status = %s" if status else ""
            rows = conn.execute(
                f"SELECT {_ATTACHMENT_COLUMNS} FROM {source}"
                f" WHERE f.tenant_id = %s AND f.vector_store_id = %s{scope_sql}{status_sql}{where} {order_by} LIMIT %s",
                [tenant_id, store_id, *scope_params, *([status] if status else []), *params, limit + 1],
            ).fetchall()
        rows, has_more = trim_page(rows, limit, reverse)
        return Page([_to_attachment(r) for r in rows], has_more)

    def update_attributes(
        self, tenant_id: str, store_id: str, file_id: str, attributes: dict[str, Any] | None
    ) -> VectorStoreFile | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE vector_store_files f SET attributes = %s"
                " WHERE f.tenant_id = %s AND f.vector_store_id = %s AND f.file_id = %s"
                f" RETURNING {_ATTACHMENT_COLUMNS}",
                (Jsonb(attributes) if attributes is not None else None, tenant_id, store_id, file_id),
            ).fetchone()
        return _to_attachment(row) if row else None

    def detach(self, tenant_id: str, store_id: str, file_id: str) -> bool:
        with self._db.connection() as conn:
            cur = conn.execute(
                "DELETE FROM vector_store_files WHERE tenant_id = %s AND vector_store_id = %s AND file_id = %s",
                (tenant_id, store_id, file_id),
            )
            return cur.rowcount == 1

    def get_ingest_target(self, tenant_id: str, store_id: str, file_id: str, now: int) -> Attachment | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT f.status, f.attributes, f.chunk_size, f.chunk_overlap, fi.filename, fi.blob_key, s.*"
                " FROM vector_store_files f"
                " JOIN files fi ON fi.id = f.file_id"
                " JOIN vector_stores s ON s.id = f.vector_store_id"
                " WHERE f.tenant_id = %s AND f.vector_store_id = %s AND f.file_id = %s",
                (tenant_id, store_id, file_id),
            ).fetchone()
        if row is None:
            return None
        return Attachment(
            tenant_id=tenant_id,
            store=_to_store_config(row, now),
            file_id=file_id,
            filename=row["filename"],
            blob_key=row["blob_key"],
            status=row["status"],
            attributes=row["attributes"],
            chunk_size=row["chunk_size"],
            chunk_overlap=row["chunk_overlap"],
        )

    def current_attributes(self, tenant_id: str, store_id: str, file_id: str) -> tuple[bool, dict | None]:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT attributes FROM vector_store_files WHERE tenant_id = %s AND vector_store_id = %s AND file_id = %s",
                (tenant_id, store_id, file_id),
            ).fetchone()
        return (row is not None, row["attributes"] if row else None)

    def reserve_chunks(
        self, tenant_id: str, store_id: str, file_id: str, chunks: int, usage_bytes: int,
        max_chunks: int, max_store_chunks: int, max_store_bytes: int,
    ) -> str | None:
        """Count a file's chunks against the quotas before it is embedded and indexed. None when they
        fit (the reservation is recorded on the attachment, so concurrent files see it), else why not."""
        with self._db.connection() as conn, conn.transaction():
            if max_chunks or max_store_chunks or max_store_bytes:
                _lock_quotas(conn, tenant_id)
                used = conn.execute(
                    "SELECT coalesce(sum(chunk_count), 0)::bigint AS chunks,"
                    "       coalesce(sum(chunk_count) FILTER (WHERE vector_store_id = %s), 0)::bigint AS store_chunks,"
                    "       coalesce(sum(usage_bytes) FILTER (WHERE vector_store_id = %s), 0)::bigint AS store_bytes"
                    " FROM vector_store_files WHERE tenant_id = %s AND status IN ('in_progress', 'completed')"
                    " AND NOT (vector_store_id = %s AND file_id = %s)",
                    (store_id, store_id, tenant_id, store_id, file_id),
                ).fetchone()
                if _over(used["store_chunks"], chunks, max_store_chunks):
                    return (
                        f"Vector store chunk quota exceeded: the file has {chunks} chunks and the vector store holds"
                        f" {used['store_chunks']} of its {max_store_chunks}."
                    )
                if _over(used["store_bytes"], usage_bytes, max_store_bytes):
                    return (
                        f"Vector store size quota exceeded: the file needs {usage_bytes} bytes and the vector store"
                        f" uses {used['store_bytes']} of its {max_store_bytes}."
                    )
                if _over(used["chunks"], chunks, max_chunks):
                    return (
                        f"Project chunk quota exceeded: the file has {chunks} chunks and the project holds"
                        f" {used['chunks']} of its {max_chunks}."
                    )
            conn.execute(
                "UPDATE vector_store_files SET chunk_count = %s, usage_bytes = %s"
                " WHERE tenant_id = %s AND vector_store_id = %s AND file_id = %s AND status = 'in_progress'",
                (chunks, usage_bytes, tenant_id, store_id, file_id),
            )
        return None

    def finish_attachment(
        self,
        tenant_id: str,
        store_id: str,
        file_id: str,
        status: Literal["completed", "failed"],
        usage_bytes: int,
        last_error: LastError | None,
    ) -> bool:
        """Settle an in-progress attachment. False if it was cancelled or detached meanwhile.
        A failed attachment holds no chunks (its reservation is released)."""
        with self._db.connection() as conn:
            cur = conn.execute(
                "UPDATE vector_store_files SET status = %s, usage_bytes = %s, last_error = %s,"
                " chunk_count = CASE WHEN %s = 'completed' THEN chunk_count ELSE 0 END"
                " WHERE tenant_id = %s AND vector_store_id = %s AND file_id = %s AND status = 'in_progress'",
                (
                    status,
                    usage_bytes,
                    Jsonb(last_error.model_dump()) if last_error else None,
                    status,
                    tenant_id,
                    store_id,
                    file_id,
                ),
            )
            return cur.rowcount == 1

    def in_progress_attachments(self) -> list[tuple[str, str, str]]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT tenant_id, vector_store_id, file_id FROM vector_store_files"
                " WHERE status = 'in_progress' ORDER BY seq"
            ).fetchall()
        return [(r["tenant_id"], r["vector_store_id"], r["file_id"]) for r in rows]

    # -------------------------------------------------------------- batches
    def create_batch(
        self,
        tenant_id: str,
        store_id: str,
        batch_id: str,
        entries: Sequence[NewAttachment],
        now: int,
        max_store_files: int = 0,
    ) -> list[str]:
        with self._db.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO file_batches (id, tenant_id, vector_store_id, created_at) VALUES (%s, %s, %s, %s)",
                (batch_id, tenant_id, store_id, now),
            )
            return self._attach(conn, tenant_id, store_id, entries, now, batch_id, max_store_files)

    def get_batch(self, tenant_id: str, store_id: str, batch_id: str) -> VectorStoreFileBatch | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT b.*, c.* FROM file_batches b CROSS JOIN LATERAL ("
                f"  SELECT {_COUNTS_SQL} FROM file_batch_files bf"
                "   JOIN vector_store_files f ON f.vector_store_id = b.vector_store_id AND f.file_id = bf.file_id"
                "   WHERE bf.batch_id = b.id) c"
                " WHERE b.tenant_id = %s AND b.vector_store_id = %s AND b.id = %s",
                (tenant_id, store_id, batch_id),
            ).fetchone()
        if row is None:
            return None
        counts = _counts(row)
        return VectorStoreFileBatch(
            id=row["id"],
            created_at=row["created_at"],
            vector_store_id=row["vector_store_id"],
            status=_batch_status(row["cancelled"], counts),
            file_counts=counts,
        )

    def cancel_batch(self, tenant_id: str, store_id: str, batch_id: str) -> list[str]:
        """Mark the batch cancelled and its in-progress files cancelled. Returns the cancelled file ids.

        A batch whose files have all settled is left unchanged.
        """
        with self._db.connection() as conn, conn.transaction():
            rows = conn.execute(
                "UPDATE vector_store_files f SET status = 'cancelled', usage_bytes = 0, chunk_count = 0"
                " FROM file_batch_files bf"
                " WHERE bf.batch_id = %s AND f.vector_store_id = %s AND f.file_id = bf.file_id"
                " AND f.tenant_id = %s AND f.status = 'in_progress' RETURNING f.file_id",
                (batch_id, store_id, tenant_id),
            ).fetchall()
            if rows:
                conn.execute(
                    "UPDATE file_batches SET cancelled = true WHERE tenant_id = %s AND id = %s", (tenant_id, batch_id)
                )
        return [r["file_id"] for r in rows]

    # ------------------------------------------------- moves between backends (an operator's tool)
    def store_config_by_id(self, store_id: str, now: int) -> StoreConfig | None:
        """Not tenant-scoped: for operator commands that name a store directly."""
        with self._db.connection() as conn:
            row = conn.execute(_STORE_CONFIG_SELECT + " WHERE s.id = %s", (store_id,)).fetchone()
        return _to_store_config(row, now) if row else None

    def attachment_statuses(self, store_id: str) -> dict[str, tuple[str, dict | None]]:
        """file_id -> (status, attributes) for every file of the store."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT file_id, status, attributes FROM vector_store_files WHERE vector_store_id = %s ORDER BY file_id",
                (store_id,),
            ).fetchall()
        return {r["file_id"]: (r["status"], r["attributes"]) for r in rows}

    def begin_migration(self, store_id: str, source: str, target: str, now: int) -> None:
        with self._db.connection() as conn:
            row = conn.execute(
                "INSERT INTO store_migrations (vector_store_id, source, target, started_at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (vector_store_id) DO UPDATE SET vector_store_id = EXCLUDED.vector_store_id"
                " RETURNING source, target",
                (store_id, source, target, now),
            ).fetchone()
        if (row["source"], row["target"]) != (source, target):
            raise RuntimeError(
                f"store {store_id} has an unfinished move {row['source']} -> {row['target']}; finish that first"
            )

    def migrated_files(self, store_id: str) -> dict[str, int]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT file_id, chunks FROM store_migration_files WHERE vector_store_id = %s", (store_id,)
            ).fetchall()
        return {r["file_id"]: r["chunks"] for r in rows}

    def record_migrated_file(self, store_id: str, file_id: str, chunks: int) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO store_migration_files (vector_store_id, file_id, chunks) VALUES (%s, %s, %s)"
                " ON CONFLICT (vector_store_id, file_id) DO UPDATE SET chunks = EXCLUDED.chunks",
                (store_id, file_id, chunks),
            )

    def finish_migration(self, store_id: str, target: str) -> None:
        """Point the store at its new backend and forget the progress, atomically."""
        with self._db.connection() as conn, conn.transaction():
            conn.execute("UPDATE vector_stores SET provider_id = %s WHERE id = %s", (target, store_id))
            conn.execute("DELETE FROM store_migrations WHERE vector_store_id = %s", (store_id,))

    # --------------------------------------------------------------- search
    def filenames(self, tenant_id: str, file_ids: Iterable[str]) -> dict[str, str]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT id, filename FROM files WHERE tenant_id = %s AND id = ANY(%s)", (tenant_id, list(file_ids))
            ).fetchall()
        return {r["id"]: r["filename"] for r in rows}
