"""Vector store files (attachments) in the catalog, and the ingest progress kept on them."""

from __future__ import annotations

from typing import Any, Literal, Sequence

from psycopg import Connection
from psycopg.types.json import Jsonb

from ..models.common import Page
from ..models.vector_stores import LastError, VectorStoreFile
from .database import Database
from .paging import PageRequest, Row, keyset, trim_page
from .quotas import QuotaExceeded, lock_quotas, over_limit
from .records import ATTACHMENT_COLUMNS, Attachment, NewAttachment, one_row, to_attachment, to_store_config


def insert_attachments(
    conn: Connection[Row],
    tenant_id: str,
    store_id: str,
    entries: Sequence[NewAttachment],
    now: int,
    batch_id: str | None,
    max_store_files: int,
) -> list[str]:
    """With `batch_id`, the batch row must already exist in this transaction; every entry joins
    the batch whether or not it was attached before."""
    if not entries:
        return []
    if max_store_files:
        lock_quotas(conn, tenant_id)
        row = one_row(conn.execute(
            "SELECT (SELECT count(*) FROM vector_store_files WHERE vector_store_id = %s) AS attached,"
            "       (SELECT count(*) FROM unnest(%s::text[]) AS t(file_id) WHERE NOT EXISTS ("
            "           SELECT 1 FROM vector_store_files f WHERE f.vector_store_id = %s AND f.file_id = t.file_id"
            "       )) AS adding",
            (store_id, [e.file_id for e in entries], store_id),
        ))
        if over_limit(row["attached"], row["adding"], max_store_files):
            raise QuotaExceeded(
                f"Vector store file quota exceeded: {store_id} has {row['attached']} of its {max_store_files}"
                f" files and this request adds {row['adding']}. Nothing was attached."
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

class AttachmentCatalog:
    _db: Database

    def attach(
        self, tenant_id: str, store_id: str, entries: Sequence[NewAttachment], now: int, max_store_files: int = 0
    ) -> list[str]:
        """Attach files (already-attached ones are left as they are). Returns the newly attached ids.

        All or nothing: if the new files would take the store past `max_store_files` (0: unlimited),
        QuotaExceeded and nothing is attached.
        """
        with self._db.connection() as conn, conn.transaction():
            return insert_attachments(conn, tenant_id, store_id, entries, now, None, max_store_files)

    def get_attachment(self, tenant_id: str, store_id: str, file_id: str) -> VectorStoreFile | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {ATTACHMENT_COLUMNS} FROM vector_store_files f"
                " WHERE f.tenant_id = %s AND f.vector_store_id = %s AND f.file_id = %s",
                (tenant_id, store_id, file_id),
            ).fetchone()
        return to_attachment(row) if row else None

    def list_attachments(
        self,
        tenant_id: str,
        store_id: str,
        status: str | None,
        page: PageRequest,
        batch_id: str | None = None,
    ) -> Page[VectorStoreFile]:
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
            cursors: list[int | None] = []
            for name, value in (("after", page.after), ("before", page.before)):
                if value is None:
                    cursors.append(None)
                    continue
                row = conn.execute(cursor_sql, (cursor_scope, value)).fetchone()
                if row is None:
                    raise LookupError(name, value)
                cursors.append(row["seq"])
            where, params, order_by, reverse = keyset(seq_column, page.order, cursors[0], cursors[1])
            status_sql = " AND f.status = %s" if status else ""
            rows = conn.execute(
                f"SELECT {ATTACHMENT_COLUMNS} FROM {source}"
                f" WHERE f.tenant_id = %s AND f.vector_store_id = %s{scope_sql}{status_sql}{where} {order_by} LIMIT %s",
                [tenant_id, store_id, *scope_params, *([status] if status else []), *params, page.limit + 1],
            ).fetchall()
        rows, has_more = trim_page(rows, page.limit, reverse)
        return Page([to_attachment(r) for r in rows], has_more)

    def update_attributes(
        self, tenant_id: str, store_id: str, file_id: str, attributes: dict[str, Any] | None
    ) -> VectorStoreFile | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE vector_store_files f SET attributes = %s"
                " WHERE f.tenant_id = %s AND f.vector_store_id = %s AND f.file_id = %s"
                f" RETURNING {ATTACHMENT_COLUMNS}",
                (Jsonb(attributes) if attributes is not None else None, tenant_id, store_id, file_id),
            ).fetchone()
        return to_attachment(row) if row else None

    def detach(self, tenant_id: str, store_id: str, file_id: str) -> bool:
        with self._db.connection() as conn:
            cur = conn.execute(
                "DELETE FROM vector_store_files WHERE tenant_id = %s AND vector_store_id = %s AND file_id = %s",
                (tenant_id, store_id, file_id),
            )
            return cur.rowcount == 1

    def detach_all(self, tenant_id: str, store_id: str) -> list[str]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "DELETE FROM vector_store_files WHERE tenant_id = %s AND vector_store_id = %s RETURNING file_id",
                (tenant_id, store_id),
            ).fetchall()
        return [r["file_id"] for r in rows]

    def claim_ingest_target(
        self, tenant_id: str, store_id: str, file_id: str, now: int, token: str, lease_until: int
    ) -> Attachment | None:
        """Take the attachment's ingest lease for the job `token` and return what the job needs.
        None when there is nothing to do: settled, detached, or leased by another live job."""
        with self._db.connection() as conn, conn.transaction():
            claimed = conn.execute(
                "UPDATE vector_store_files SET lease_token = %s, lease_expires_at = %s"
                " WHERE tenant_id = %s AND vector_store_id = %s AND file_id = %s AND status = 'in_progress'"
                " AND (lease_token IS NULL OR lease_token = %s OR lease_expires_at < %s)",
                (token, lease_until, tenant_id, store_id, file_id, token, now),
            ).rowcount
            if not claimed:
                return None
            # The row just claimed, locked by this transaction: it is there.
            row = one_row(conn.execute(
                "SELECT f.status, f.attributes, f.chunk_size, f.chunk_overlap, f.resumes, fi.filename, fi.blob_key, s.*"
                " FROM vector_store_files f"
                " JOIN files fi ON fi.id = f.file_id"
                " JOIN vector_stores s ON s.id = f.vector_store_id"
                " WHERE f.vector_store_id = %s AND f.file_id = %s",
                (store_id, file_id),
            ))
        return Attachment(
            tenant_id=tenant_id,
            store=to_store_config(row, now),
            file_id=file_id,
            filename=row["filename"],
            blob_key=row["blob_key"],
            status=row["status"],
            attributes=row["attributes"],
            chunk_size=row["chunk_size"],
            chunk_overlap=row["chunk_overlap"],
            resumes=row["resumes"],
        )

    def renew_lease(self, tenant_id: str, store_id: str, file_id: str, token: str, lease_until: int) -> bool:
        with self._db.connection() as conn:
            return conn.execute(
                "UPDATE vector_store_files SET lease_expires_at = %s"
                " WHERE tenant_id = %s AND vector_store_id = %s AND file_id = %s"
                " AND status = 'in_progress' AND lease_token = %s",
                (lease_until, tenant_id, store_id, file_id, token),
            ).rowcount == 1

    def current_attributes(self, tenant_id: str, store_id: str, file_id: str) -> tuple[bool, dict[str, Any] | None]:
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
                lock_quotas(conn, tenant_id)
                used = one_row(conn.execute(
                    "SELECT coalesce(sum(chunk_count), 0)::bigint AS chunks,"
                    "       coalesce(sum(chunk_count) FILTER (WHERE vector_store_id = %s), 0)::bigint AS store_chunks,"
                    "       coalesce(sum(usage_bytes) FILTER (WHERE vector_store_id = %s), 0)::bigint AS store_bytes"
                    " FROM vector_store_files WHERE tenant_id = %s AND status IN ('in_progress', 'completed')"
                    " AND NOT (vector_store_id = %s AND file_id = %s)",
                    (store_id, store_id, tenant_id, store_id, file_id),
                ))
                if over_limit(used["store_chunks"], chunks, max_store_chunks):
                    return (
                        f"Vector store chunk quota exceeded: the file has {chunks} chunks and the vector store holds"
                        f" {used['store_chunks']} of its {max_store_chunks}."
                    )
                if over_limit(used["store_bytes"], usage_bytes, max_store_bytes):
                    return (
                        f"Vector store size quota exceeded: the file needs {usage_bytes} bytes and the vector store"
                        f" uses {used['store_bytes']} of its {max_store_bytes}."
                    )
                if over_limit(used["chunks"], chunks, max_chunks):
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

    def resume_stuck(
        self, leases_before: int, unclaimed_before: int, reserve_until: int, limit: int = 10_000
    ) -> list[tuple[str, str, str]]:
        """In-progress attachments no live job holds, to be re-enqueued: a lease that ran out before
        `leases_before` (its job died: counted in `resumes`), or never claimed, attached before
        `unclaimed_before` (its message was lost). Each is reserved until `reserve_until`, so the next
        sweep leaves it to the job it is re-enqueued for. Safe to run from many processes at once
        (locked rows are skipped)."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "UPDATE vector_store_files f SET resumes = f.resumes + (f.lease_token IS NOT NULL)::int,"
                " lease_token = NULL, lease_expires_at = %s"
                " FROM (SELECT vector_store_id, file_id FROM vector_store_files WHERE status = 'in_progress'"
                "       AND (lease_expires_at < %s OR (lease_expires_at IS NULL AND created_at < %s))"
                "       ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED) AS stuck"
                " WHERE f.vector_store_id = stuck.vector_store_id AND f.file_id = stuck.file_id"
                " RETURNING f.tenant_id, f.vector_store_id, f.file_id, f.seq",
                (reserve_until, leases_before, unclaimed_before, limit),
            ).fetchall()
        return [(r["tenant_id"], r["vector_store_id"], r["file_id"]) for r in sorted(rows, key=lambda r: r["seq"])]
