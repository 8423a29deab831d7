"""A store's move between vector backends (an operator's tool): progress kept in the catalog.

Not tenant-scoped: operator commands name a store directly."""

from __future__ import annotations

from typing import Any

from .database import Database
from .records import STORE_CONFIG_SELECT, StoreConfig, one_row, to_store_config


class MigrationCatalog:
    _db: Database

    def store_config_by_id(self, store_id: str, now: int) -> StoreConfig | None:
        """Not tenant-scoped: for operator commands that name a store directly."""
        with self._db.connection() as conn:
            row = conn.execute(STORE_CONFIG_SELECT + " WHERE s.id = %s", (store_id,)).fetchone()
        return to_store_config(row, now) if row else None

    def attachment_statuses(self, store_id: str) -> dict[str, tuple[str, dict[str, Any] | None]]:
        """file_id -> (status, attributes) for every file of the store."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT file_id, status, attributes FROM vector_store_files WHERE vector_store_id = %s ORDER BY file_id",
                (store_id,),
            ).fetchall()
        return {r["file_id"]: (r["status"], r["attributes"]) for r in rows}

    def begin_migration(self, store_id: str, source: str, target: str, now: int) -> None:
        with self._db.connection() as conn:
            row = one_row(conn.execute(
                "INSERT INTO store_migrations (vector_store_id, source, target, started_at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (vector_store_id) DO UPDATE SET vector_store_id = EXCLUDED.vector_store_id"
                " RETURNING source, target",
                (store_id, source, target, now),
            ))
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
