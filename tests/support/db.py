"""SQL on a server's database, for what the API does not show (or to age a row)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from .servers import ApiServer


def execute(database_url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]] | int:
    """Run one statement (autocommit): its rows, or the row count when it returns none."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else cur.rowcount


def db_execute(server: ApiServer, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]] | int:
    """`execute` on the server's database."""
    return execute(server.database_url, sql, params)
