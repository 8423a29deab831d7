"""Quota checks: serialised per tenant with the writes they guard; the usage they count."""

from __future__ import annotations

from psycopg import Connection

from ..models.admin import QuotaUsage
from .database import Database
from .paging import Row
from .records import one_row


class QuotaExceeded(Exception):
    """A write would take a quota past its limit; nothing was written. The services turn it into
    the API's error."""


def lock_quotas(conn: Connection[Row], tenant_id: str) -> None:
    """Serialise a tenant's quota checks with their writes, so concurrent requests cannot overshoot."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("quota:" + tenant_id,))


def over_limit(used: int, adding: int, limit: int) -> bool:
    return limit > 0 and used + adding > limit


class QuotaCatalog:
    _db: Database

    def quota_usage(self, tenant_id: str, now: int) -> QuotaUsage:
        """What a tenant stores now: files and their bytes, and chunks in every store (reserved included)."""
        with self._db.connection() as conn:
            row = one_row(conn.execute(
                "SELECT f.files, f.bytes, (SELECT coalesce(sum(chunk_count), 0)::bigint FROM vector_store_files"
                "         WHERE tenant_id = %s AND status IN ('in_progress', 'completed')) AS chunks"
                " FROM (SELECT count(*) AS files, coalesce(sum(bytes), 0)::bigint AS bytes FROM files"
                "       WHERE tenant_id = %s AND (expires_at IS NULL OR expires_at > %s)) f",
                (tenant_id, tenant_id, now),
            ))
        return QuotaUsage(files=row["files"], bytes=row["bytes"], chunks=row["chunks"])
