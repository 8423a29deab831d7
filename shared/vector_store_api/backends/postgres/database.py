"""Connection pool, with the embedded PostgreSQL (pgserver) when no DATABASE_URL is given."""

from __future__ import annotations

import logging
from pathlib import Path

from pgvector.psycopg import register_vector
from psycopg import Connection
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from .schema import migrate

log = logging.getLogger(__name__)

_embedded_servers: list = []


def start_embedded_server(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL under data_dir and return its URL."""
    import pgserver  # local extra only

    pg_dir = data_dir / "postgres"
    pg_dir.mkdir(parents=True, exist_ok=True)
    # 'stop': the server stops when the last process using it exits. Keep the handle alive until then.
    server = pgserver.get_server(str(pg_dir), cleanup_mode="stop")
    _embedded_servers.append(server)
    return server.get_uri()


def _configure(conn: Connection) -> None:
    register_vector(conn)


class Database:
    """Owns the pool; the schema is migrated once when the pool opens."""

    def __init__(self, url: str, min_size: int = 1, max_size: int = 10):
        self._url = url
        # Migrate before the pool's connections register the `vector` type (it needs the extension).
        with Connection.connect(url, autocommit=True) as conn:
            migrate(conn)
        self.pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            configure=_configure,
            kwargs={"row_factory": dict_row},
            open=True,
            name="vector-store-api",
        )
        self.pool.wait(timeout=30)

    def connection(self):
        return self.pool.connection()

    def close(self) -> None:
        self.pool.close()
