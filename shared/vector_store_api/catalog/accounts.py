"""Projects (the tenants) and API keys in PostgreSQL, beside the catalog (local mode and Lambda alike)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence, cast

from psycopg.types.json import Jsonb

from ..models.common import Page
from .database import Database
from .paging import PageRequest, keyset, trim_page
from .records import KeyRow, ProjectRow, one_row

_KEY_COLUMNS = (
    "k.id, k.project_id, k.name, k.role, k.vector_store_ids, k.requests_per_minute, k.redacted_value,"
    " k.created_at, k.last_used_at, k.expires_at, k.revoked_at"
)


@dataclass(frozen=True)
class KeyMatch:
    """What authentication needs about a presented key: the key row (None when unknown), its
    project's state and limits, and whether any key exists at all (key checking is on)."""

    key: KeyRow | None
    project_archived: bool
    project_limits: dict[str, Any]
    keys_exist: bool


# The queries below select exactly the columns of ProjectRow and KeyRow, hence the casts.
class Accounts:
    def __init__(self, db: Database):
        self._db = db

    # ------------------------------------------------------------------ authentication
    def match_key(self, key_hash: str) -> KeyMatch:
        with self._db.connection() as conn:
            row = one_row(conn.execute(
                f"SELECT {_KEY_COLUMNS}, p.archived_at AS project_archived_at, p.limits AS project_limits,"
                " EXISTS (SELECT 1 FROM api_keys) AS keys_exist"
                " FROM (SELECT 1) one"
                " LEFT JOIN api_keys k ON k.key_hash = %s"
                " LEFT JOIN projects p ON p.id = k.project_id",
                (key_hash,),
            ))
        key = cast(KeyRow, {name: row[name] for name in _key_names()}) if row["id"] is not None else None
        return KeyMatch(key, row["project_archived_at"] is not None, row["project_limits"] or {}, row["keys_exist"])

    def touch_key(self, key_id: str, now: int, every_seconds: int = 60) -> None:
        """Record use, at most once a minute per key (a write per request would be wasteful)."""
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE api_keys SET last_used_at = %s WHERE id = %s AND (last_used_at IS NULL OR last_used_at <= %s)",
                (now, key_id, now - every_seconds),
            )

    # ------------------------------------------------------------------ projects
    def insert_project(self, project_id: str, name: str, now: int) -> ProjectRow:
        with self._db.connection() as conn:
            return cast(ProjectRow, one_row(conn.execute(
                "INSERT INTO projects (id, name, created_at) VALUES (%s, %s, %s) RETURNING *", (project_id, name, now)
            )))

    def get_project(self, project_id: str) -> ProjectRow | None:
        with self._db.connection() as conn:
            return cast(ProjectRow | None, conn.execute("SELECT * FROM projects WHERE id = %s", (project_id,)).fetchone())

    def list_projects(
        self, page: PageRequest, include_archived: bool, only: Sequence[str] | None = None
    ) -> Page[ProjectRow]:
        where, params, order_by, reverse = keyset("id", page.order, page.after, page.before)
        filters = "" if include_archived else " AND archived_at IS NULL"
        if only is not None:
            filters += " AND id = ANY(%s)"
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT * FROM projects WHERE true{filters}{where} {order_by} LIMIT %s",
                [*([list(only)] if only is not None else []), *params, page.limit + 1],
            ).fetchall()
        rows, has_more = trim_page(rows, page.limit, reverse)
        return Page(cast(list[ProjectRow], rows), has_more)

    def all_project_ids(self) -> list[str]:
        with self._db.connection() as conn:
            return [r["id"] for r in conn.execute("SELECT id FROM projects ORDER BY id").fetchall()]

    def update_project(self, project_id: str, changes: dict[str, Any]) -> ProjectRow | None:
        columns = ", ".join(f"{name} = %s" for name in changes)
        with self._db.connection() as conn:
            return cast(ProjectRow | None, conn.execute(
                f"UPDATE projects SET {columns} WHERE id = %s RETURNING *", [*changes.values(), project_id]
            ).fetchone())

    def update_limits(self, project_id: str, changes: dict[str, int | None]) -> dict[str, Any] | None:
        """Merge `changes` into the project's limits; a None value removes the override."""
        set_values = {k: v for k, v in changes.items() if v is not None}
        removed = [k for k, v in changes.items() if v is None]
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE projects SET limits = (limits - %s::text[]) || %s WHERE id = %s RETURNING limits",
                (removed, Jsonb(set_values), project_id),
            ).fetchone()
        return None if row is None else row["limits"]

    # ------------------------------------------------------------------ keys
    def insert_key(self, row: dict[str, Any]) -> KeyRow:
        columns = ", ".join(row)
        placeholders = ", ".join(["%s"] * len(row))
        with self._db.connection() as conn:
            return cast(KeyRow, one_row(conn.execute(
                f"INSERT INTO api_keys ({columns}) VALUES ({placeholders}) RETURNING {_KEY_COLUMNS.replace('k.', '')}",
                list(row.values()),
            )))

    def get_key(self, project_id: str | None, key_id: str) -> KeyRow | None:
        """A live (not revoked) key of the project; project None: an organization admin key."""
        with self._db.connection() as conn:
            return cast(KeyRow | None, conn.execute(
                f"SELECT {_KEY_COLUMNS} FROM api_keys k WHERE k.id = %s AND k.project_id IS NOT DISTINCT FROM %s"
                " AND k.revoked_at IS NULL",
                (key_id, project_id),
            ).fetchone())

    def list_keys(
        self, project_id: str | None, page: PageRequest
    ) -> Page[KeyRow]:
        where, params, order_by, reverse = keyset("k.id", page.order, page.after, page.before)
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_KEY_COLUMNS} FROM api_keys k WHERE k.project_id IS NOT DISTINCT FROM %s"
                f" AND k.revoked_at IS NULL{where} {order_by} LIMIT %s",
                [project_id, *params, page.limit + 1],
            ).fetchall()
        rows, has_more = trim_page(rows, page.limit, reverse)
        return Page(cast(list[KeyRow], rows), has_more)

    def update_key(self, project_id: str | None, key_id: str, changes: dict[str, Any]) -> KeyRow | None:
        columns = ", ".join(f"{name} = %s" for name in changes)
        with self._db.connection() as conn:
            return cast(KeyRow | None, conn.execute(
                f"UPDATE api_keys k SET {columns} WHERE k.id = %s AND k.project_id IS NOT DISTINCT FROM %s"
                f" AND k.revoked_at IS NULL RETURNING {_KEY_COLUMNS}",
                [*changes.values(), key_id, project_id],
            ).fetchone())

    def revoke_key(self, project_id: str | None, key_id: str, now: int) -> bool:
        """Revoked keys stay (so a later use can be told it was revoked) but are never listed again."""
        with self._db.connection() as conn:
            cursor = conn.execute(
                "UPDATE api_keys SET revoked_at = %s WHERE id = %s AND project_id IS NOT DISTINCT FROM %s"
                " AND revoked_at IS NULL",
                (now, key_id, project_id),
            )
            return cursor.rowcount == 1


def _key_names() -> list[str]:
    return [column.strip().removeprefix("k.") for column in _KEY_COLUMNS.split(",")]
