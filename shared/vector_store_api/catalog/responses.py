"""Stored Responses, scoped by tenant like every object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from .database import Database


@dataclass(frozen=True)
class StoredResponse:
    response: dict[str, Any]  # the Response object, search results included
    input_items: list[dict[str, Any]]
    messages: list[dict[str, Any]]  # the conversation as chat messages (no system message)


class ResponseCatalog:
    _db: Database

    def insert_response(
        self,
        tenant_id: str,
        response: dict[str, Any],
        input_items: list[dict[str, Any]],
        messages: list[dict[str, Any]],
    ) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO responses (id, tenant_id, created_at, status, response, input_items, messages)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    response["id"],
                    tenant_id,
                    response["created_at"],
                    response["status"],
                    Jsonb(response),
                    Jsonb(input_items),
                    Jsonb(messages),
                ),
            )

    def get_response(self, tenant_id: str, response_id: str) -> StoredResponse | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT response, input_items, messages FROM responses WHERE tenant_id = %s AND id = %s",
                (tenant_id, response_id),
            ).fetchone()
        return StoredResponse(row["response"], row["input_items"], row["messages"]) if row else None

    def delete_response(self, tenant_id: str, response_id: str) -> bool:
        with self._db.connection() as conn:
            cur = conn.execute("DELETE FROM responses WHERE tenant_id = %s AND id = %s", (tenant_id, response_id))
            return cur.rowcount == 1
