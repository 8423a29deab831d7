"""Usage counters in PostgreSQL (local mode): one row per counter, incremented by upsert."""

from __future__ import annotations

from datetime import date
from typing import Mapping, Sequence

from ..catalog.database import Database
from .base import UsageKey, UsageRow


class PostgresUsageStore:
    """The `usage_counters` table (schema migration 4)."""

    def __init__(self, db: Database):
        self.db = db

    def add(self, increments: Mapping[UsageKey, Mapping[str, int]]) -> None:
        # Sorted, so two writers lock rows in the same order (no deadlock).
        rows = sorted((*key, metric, value) for key, counters in increments.items() for metric, value in counters.items())
        if not rows:
            return
        tenants, days, stores, metrics, values = (list(column) for column in zip(*rows, strict=True))
        with self.db.connection() as conn:
            conn.execute(
                "INSERT INTO usage_counters (tenant_id, day, vector_store_id, metric, value)"
                " SELECT * FROM unnest(%s::text[], %s::date[], %s::text[], %s::text[], %s::bigint[])"
                " ON CONFLICT (tenant_id, day, vector_store_id, metric)"
                " DO UPDATE SET value = usage_counters.value + EXCLUDED.value",
                (tenants, days, stores, metrics, values),
            )

    def query(self, tenant_ids: Sequence[str], first_day: str, last_day: str) -> list[UsageRow]:
        with self.db.connection() as conn:
            records = conn.execute(
                "SELECT tenant_id, day, vector_store_id, metric, value FROM usage_counters"
                " WHERE tenant_id = ANY(%s) AND day BETWEEN %s AND %s",
                (list(tenant_ids), first_day, last_day),
            ).fetchall()
        rows: dict[UsageKey, dict[str, int]] = {}
        for r in records:
            key = UsageKey(r["tenant_id"], r["day"].isoformat(), r["vector_store_id"])
            rows.setdefault(key, {})[r["metric"]] = int(r["value"])
        return [UsageRow(key, counters) for key, counters in rows.items()]

    def delete_before(self, day: str) -> int:
        with self.db.connection() as conn:
            cursor = conn.execute("DELETE FROM usage_counters WHERE day < %s", (date.fromisoformat(day),))
            deleted: int = cursor.rowcount
            return deleted
