"""File batches in the catalog."""

from __future__ import annotations

from typing import Sequence

from ..models.vector_stores import VectorStoreFileBatch, batch_status
from .attachments import insert_attachments
from .database import Database
from .records import COUNTS_SQL, NewAttachment, file_counts


class BatchCatalog:
    _db: Database

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
            return insert_attachments(conn, tenant_id, store_id, entries, now, batch_id, max_store_files)

    def get_batch(self, tenant_id: str, store_id: str, batch_id: str) -> VectorStoreFileBatch | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT b.*, c.* FROM file_batches b CROSS JOIN LATERAL ("
                f"  SELECT {COUNTS_SQL} FROM file_batch_files bf"
                "   JOIN vector_store_files f ON f.vector_store_id = b.vector_store_id AND f.file_id = bf.file_id"
                "   WHERE bf.batch_id = b.id) c"
                " WHERE b.tenant_id = %s AND b.vector_store_id = %s AND b.id = %s",
                (tenant_id, store_id, batch_id),
            ).fetchone()
        if row is None:
            return None
        counts = file_counts(row)
        return VectorStoreFileBatch(
            id=row["id"],
            created_at=row["created_at"],
            vector_store_id=row["vector_store_id"],
            status=batch_status(row["cancelled"], counts),
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
