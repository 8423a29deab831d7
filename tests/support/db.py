"""SQL on a server's database, for what the API does not show (or to age a row)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql as pgsql

from .servers import ApiServer


def execute(database_url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]] | int:
    """Run one statement (autocommit): its rows, or the row count when it returns none."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else cur.rowcount


def db_execute(server: ApiServer, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]] | int:
    """`execute` on the server's database."""
    return execute(server.database_url, sql, params)


@contextmanager
def row_locked(server: ApiServer, table: str, row_id: str) -> Iterator[psycopg.Connection[Any]]:
    """Hold a row lock (`SELECT … FOR UPDATE`) on the server's database while the block runs, so a
    request writing that row waits in PostgreSQL: a statement the server must be able to cancel.
    The block may end the transaction early (`conn.rollback()`) to let it through."""
    conn = psycopg.connect(server.database_url)
    try:
        conn.execute(pgsql.SQL("SELECT 1 FROM {} WHERE id = %s FOR UPDATE").format(pgsql.Identifier(table)), (row_id,))
        yield conn
    finally:
        try:
            conn.close()
        except psycopg.Error:
            pass  # the server may have stopped the database meanwhile


def waiting_on_locks(server: ApiServer) -> list[str]:
    """The statements of the server's database waiting for a lock (their text), this session's aside."""
    rows = execute(
        server.database_url,
        "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
    )
    assert isinstance(rows, list)
    return [row[0] for row in rows]
