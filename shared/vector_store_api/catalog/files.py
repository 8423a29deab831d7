"""Files (the `/v1/files` objects) in the catalog."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from ..models.common import Page
from ..models.files import FileObject, FileScope
from ..vector_index.base import StoreRef
from .database import Database
from .paging import PageRequest, keyset, trim_page
from .quotas import QuotaExceeded, lock_quotas, over_limit
from .records import StoredFile, one_row, to_file


def visible_to(scope: FileScope | None) -> tuple[str, list[Any]]:
    """A condition on `files` (" AND ...") and its parameters: the Files `scope` may see (all: None)."""
    if scope is None:
        return "", []
    return (
        " AND (files.uploaded_by = %s OR EXISTS (SELECT 1 FROM vector_store_files a WHERE a.file_id = files.id"
        " AND a.tenant_id = files.tenant_id AND a.vector_store_id = ANY(%s)))",
        [scope.key_id, sorted(scope.store_ids)],
    )


class FileCatalog:
    _db: Database

    def insert_file(
        self,
        tenant_id: str,
        file: FileObject,
        blob_key: str,
        max_files: int = 0,
        max_bytes: int = 0,
        source: str | None = None,
        uploaded_by: str | None = None,
    ) -> bool:
        """Insert a File, within the project's file-count and byte quotas (0: unlimited). False when
        the project already has a File from `source` (nothing inserted). `uploaded_by`: the key's id."""
        with self._db.connection() as conn, conn.transaction():
            if max_files or max_bytes:
                lock_quotas(conn, tenant_id)
                used = one_row(conn.execute(
                    "SELECT count(*) AS files, coalesce(sum(bytes), 0)::bigint AS bytes FROM files"
                    " WHERE tenant_id = %s AND (expires_at IS NULL OR expires_at > %s)",
                    (tenant_id, file.created_at),
                ))
                if over_limit(used["files"], 1, max_files):
                    raise QuotaExceeded(
                        f"File quota exceeded: the project has {used['files']} of its {max_files} files."
                        " Delete files, or ask an admin to raise max_files."
                    )
                if over_limit(used["bytes"], file.bytes, max_bytes):
                    raise QuotaExceeded(
                        f"Storage quota exceeded: the project stores {used['bytes']} of its {max_bytes} bytes and"
                        f" this file has {file.bytes}. Delete files, or ask an admin to raise max_bytes."
                    )
            inserted = conn.execute(
                "INSERT INTO files"
                " (id, tenant_id, created_at, bytes, filename, purpose, expires_at, blob_key, source, uploaded_by)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (tenant_id, source) WHERE source IS NOT NULL DO NOTHING",
                (
                    file.id, tenant_id, file.created_at, file.bytes, file.filename, file.purpose, file.expires_at,
                    blob_key, source, uploaded_by,
                ),
            ).rowcount
        return inserted == 1

    def file_from_source(self, tenant_id: str, source: str) -> FileObject | None:
        with self._db.connection() as conn:
            row = conn.execute("SELECT * FROM files WHERE tenant_id = %s AND source = %s", (tenant_id, source)).fetchone()
        return to_file(row) if row else None

    def get_file(self, tenant_id: str, file_id: str, now: int, scope: FileScope | None = None) -> StoredFile | None:
        scoped, scope_params = visible_to(scope)
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT * FROM files WHERE tenant_id = %s AND id = %s AND (expires_at IS NULL OR expires_at > %s)"
                + scoped,
                [tenant_id, file_id, now, *scope_params],
            ).fetchone()
        return StoredFile(to_file(row), row["tenant_id"], row["blob_key"]) if row else None

    def existing_file_ids(
        self, tenant_id: str, file_ids: Sequence[str], now: int, scope: FileScope | None = None
    ) -> set[str]:
        """Those of `file_ids` that exist and `scope` may see."""
        scoped, scope_params = visible_to(scope)
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT id FROM files WHERE tenant_id = %s AND id = ANY(%s) AND (expires_at IS NULL OR expires_at > %s)"
                + scoped,
                [tenant_id, list(file_ids), now, *scope_params],
            ).fetchall()
        return {row["id"] for row in rows}

    def list_files(
        self, tenant_id: str, purpose: str | None, page: PageRequest, now: int, scope: FileScope | None = None
    ) -> Page[FileObject]:
        """A page of the Files `scope` may see, filtered in the query so pages stay full and cursors exact."""
        where, params, order_by, reverse = keyset("id", page.order, page.after, None)
        purpose_sql = " AND purpose = %s" if purpose else ""
        purpose_params = [purpose] if purpose else []
        scoped, scope_params = visible_to(scope)
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT * FROM files WHERE tenant_id = %s AND (expires_at IS NULL OR expires_at > %s)"
                f"{purpose_sql}{scoped}{where} {order_by} LIMIT %s",
                [tenant_id, now, *purpose_params, *scope_params, *params, page.limit + 1],
            ).fetchall()
        rows, has_more = trim_page(rows, page.limit, reverse)
        return Page([to_file(r) for r in rows], has_more)

    def delete_file(
        self, tenant_id: str, file_id: str, scope: FileScope | None = None
    ) -> tuple[str, list[StoreRef]] | None:
        """Delete a file and (by cascade) its attachments and chunks. Returns its blob key and stores;
        None when there is no such file `scope` may see.

        With `scope`, a file also attached to a store outside it is left alone (PermissionError)."""
        with self._db.connection() as conn, conn.transaction():
            file = conn.execute(
                "SELECT uploaded_by FROM files WHERE tenant_id = %s AND id = %s FOR UPDATE", (tenant_id, file_id)
            ).fetchone()
            if file is None:
                return None
            stores = conn.execute(
                "SELECT s.id, s.embedding_dimension, s.provider_id FROM vector_store_files f"
                " JOIN vector_stores s ON s.id = f.vector_store_id WHERE f.tenant_id = %s AND f.file_id = %s"
                " FOR UPDATE OF f",
                (tenant_id, file_id),
            ).fetchall()
            if scope is not None:
                inside = [s["id"] for s in stores if s["id"] in scope.store_ids]
                if not inside and file["uploaded_by"] != scope.key_id:
                    return None  # not one it may see: as if it did not exist
                outside = sorted(s["id"] for s in stores if s["id"] not in scope.store_ids)
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

    def searchable_filenames(self, tenant_id: str, store_id: str, file_ids: Iterable[str]) -> dict[str, str]:
        """Names of the files among `file_ids` that are `completed` in the store: the chunks of a
        file being indexed, cancelled, failed, detached or deleted meanwhile are not search hits (a
        backend without transactions, OpenSearch, briefly holds such chunks)."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT f.id, f.filename FROM files f JOIN vector_store_files a"
                " ON a.file_id = f.id AND a.tenant_id = f.tenant_id"
                " WHERE f.tenant_id = %s AND a.vector_store_id = %s AND a.status = 'completed' AND f.id = ANY(%s)",
                (tenant_id, store_id, list(file_ids)),
            ).fetchall()
        return {r["id"]: r["filename"] for r in rows}
