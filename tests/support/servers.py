"""The local API server (`python -m vector_store_api.local.server`) in a subprocess.

`ApiServer` is what the benchmark starts (rate limits off); `ServerProcess` is the test suites' flavour
(fast expiry sweeps, effectively unlimited rate limits, always its own embedded database). Every
server is stopped by its owner (a fixture, or the bench's `ExitStack`), on error and on Ctrl-C too.
The server stops its embedded PostgreSQL itself on SIGTERM (see
vector_store_api.catalog.database.stop_embedded_servers).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import httpx

# The ADMIN_API_KEY of the suites' key-checking server (the `keys_server` fixture).
ADMIN_API_KEY = "sk-admin-bootstrap-" + uuid.uuid4().hex


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ApiServer:
    """`python -m vector_store_api.local.server` on a free port with its own DATA_DIR.

    Rate limits are disabled (0), so the bench measures the service, not its throttling.
    """

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        self.env: dict[str, str] = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATA_DIR": str(data_dir),
            "POLL_AFTER_MS": "100",
            "RATE_LIMIT_REQUESTS_PER_MINUTE": "0",
            "STORE_WRITES_PER_MINUTE": "0",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def database_url(self) -> str:
        """The database the server uses: DATABASE_URL, else its embedded PostgreSQL (Unix socket)."""
        return self.env.get("DATABASE_URL") or f"postgresql://postgres:@/postgres?host={self.data_dir / 'postgres'}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, timeout: float = 180) -> Self:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vector_store_api.local.server"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the API server exited during start-up:\n{self.log_tail()}")
            try:
                if httpx.get(self.base_url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the API server did not become healthy within {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM (the server then stops its embedded PostgreSQL), SIGKILL after 60 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ServerProcess(ApiServer):
    """The local API server in a subprocess with the test suites' settings."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        super().__init__(
            data_dir,
            **{
                "EXPIRY_SWEEP_SECONDS": "0.5",
                # Effectively unlimited: the suites' tests share servers; tests/e2e/test_rate_limits.py
                # starts its own servers with small limits.
                "RATE_LIMIT_REQUESTS_PER_MINUTE": "1000000",
                "STORE_WRITES_PER_MINUTE": "1000000",
                **env,
            },
        )
        if "DATABASE_URL" not in env:  # its own embedded database, whatever the caller's environment says
            self.env.pop("DATABASE_URL", None)

    @property
    def backend(self) -> str:
        return self.env.get("VECTOR_BACKEND", "pgvector")

    def chunk_count(self, store_id: str, file_id: str | None = None) -> int:
        """Chunks indexed for a store (or one of its files), read from whichever backend holds them."""
        if self.backend == "opensearch":
            terms = [{"term": {"store_id": store_id}}] + ([{"term": {"file_id": file_id}}] if file_id else [])
            index = self.env.get("OPENSEARCH_INDEX_PREFIX", "vector-store-chunks") + "-*"
            response = httpx.post(
                f"{self.env['OPENSEARCH_URL']}/{index}/_count", json={"query": {"bool": {"filter": terms}}}, timeout=30
            )
            response.raise_for_status()
            count: int = response.json()["count"]
            return count
        import psycopg

        sql, params = "SELECT count(*) FROM chunks WHERE vector_store_id = %s", [store_id]
        if file_id is not None:
            sql, params = sql + " AND file_id = %s", [*params, file_id]
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(sql, params).fetchone()
        assert row is not None
        return int(row[0])


def serve(data_dir: Path, **env: str) -> Iterator[ServerProcess]:
    """A server fixture's body (`yield from serve(...)`): a started `ServerProcess` with the `hash`
    embedder unless `env` names another, stopped when the fixture is torn down."""
    with ServerProcess(data_dir, **{"EMBEDDING_PROVIDER": "hash", **env}).start() as proc:
        yield proc
