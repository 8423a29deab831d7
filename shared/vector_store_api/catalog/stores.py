"""Vector stores in the catalog."""

from __future__ import annotations

from typing import Any, Iterable

from psycopg.types.json import Jsonb

from ..models.admin import VectorStoreStats
from ..models.common import Page
from ..models.vector_stores import VectorStore
from .database import Database
from .paging import PageRequest, Row, keyset, trim_page
from .records import DAY, STORE_CONFIG_SELECT, STORE_SELECT, StoreConfig, file_counts, to_store, to_store_config


class StoreCatalog:
    _db: Database

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
                STORE_SELECT + " WHERE s.tenant_id = %s AND s.id = %s", (tenant_id, store_id)
            ).fetchone()
        return to_store(row, now) if row else None

    def get_store_config(self, tenant_id: str, store_id: str, now: int) -> StoreConfig | None:
        with self._db.connection() as conn:
            row = conn.execute(
                STORE_CONFIG_SELECT + " WHERE s.tenant_id = %s AND s.id = %s", (tenant_id, store_id)
            ).fetchone()
        return to_store_config(row, now) if row else None

    def list_stores(
        self,
        tenant_id: str,
        page: PageRequest,
        now: int,
        only: Iterable[str] | None = None,
    ) -> Page[VectorStore]:
        """A page of the tenant's stores; `only` restricts it to those ids (a scoped key's stores)."""
        rows, has_more = self._store_rows(tenant_id, page, only)
        return Page([to_store(r, now) for r in rows], has_more)

    def store_stats(
        self, tenant_id: str, page: PageRequest
    ) -> Page[VectorStoreStats]:
        rows, has_more = self._store_rows(tenant_id, page, None)
        return Page(
            [
                VectorStoreStats(
                    id=r["id"], name=r["name"], usage_bytes=r["usage_bytes"], chunk_count=r["chunk_count"],
                    file_counts=file_counts(r),
                )
                for r in rows
            ],
            has_more,
        )

    def _store_rows(
        self, tenant_id: str, page: PageRequest,
        only: Iterable[str] | None,
    ) -> tuple[list[Row], bool]:
        where, params, order_by, reverse = keyset("s.id", page.order, page.after, page.before)
        only_sql = " AND s.id = ANY(%s)" if only is not None else ""
        with self._db.connection() as conn:
            rows = conn.execute(
                STORE_SELECT + f" WHERE s.tenant_id = %s{only_sql}{where} {order_by} LIMIT %s",
                [tenant_id, *([list(only)] if only is not None else []), *params, page.limit + 1],
            ).fetchall()
        return trim_page(rows, page.limit, reverse)

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
