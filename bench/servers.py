"""The processes a bench run starts: the local API server(s) and, optionally, an OpenSearch node.

Every process started here is registered on an `ExitStack` by the caller and stopped at the end of
the run, on error and on Ctrl-C too. The local server stops its embedded PostgreSQL itself on
SIGTERM (see vector_store_api.catalog.database.stop_embedded_servers).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
OFFLINE_ASSETS = REPO.parent / "shared"
OPENSEARCH_SCRIPT = REPO / "scripts" / "opensearch_server.py"


def offline_assets_env() -> None:
    """Point tiktoken (and the local model) at ../shared when present, as the Makefile does."""
    if "TIKTOKEN_CACHE_DIR" not in os.environ and (OFFLINE_ASSETS / "tiktoken-cache").is_dir():
        os.environ["TIKTOKEN_CACHE_DIR"] = str(OFFLINE_ASSETS / "tiktoken-cache")
    model_dir = OFFLINE_ASSETS / "models" / "all-MiniLM-L6-v2-onnx"
    if "LOCAL_EMBEDDING_MODEL_DIR" not in os.environ and (model_dir / "model.onnx").is_file():
        os.environ["LOCAL_EMBEDDING_MODEL_DIR"] = str(model_dir)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ApiServer:
    """`python -m vector_store_api.local.server` on a free port with its own DATA_DIR.

    Rate limits are disabled (0), so the bench measures the service, not its throttling.
    """

    def __init__(self, data_dir: Path, **env: str):
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        self.env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATA_DIR": str(data_dir),
            "POLL_AFTER_MS": "100",
            "RATE_LIMIT_REQUESTS_PER_MINUTE": "0",
            "STORE_WRITES_PER_MINUTE": "0",
            **env,
        }
        self.process: subprocess.Popen | None = None

    @property
    def database_url(self) -> str:
        """The database the server uses: DATABASE_URL, else its embedded PostgreSQL (Unix socket)."""
        return self.env.get("DATABASE_URL") or f"postgresql://postgres:@/postgres?host={self.data_dir / 'postgres'}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, timeout: float = 180) -> ApiServer:
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

    def __enter__(self) -> ApiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _opensearch_module() -> ModuleType:
    """scripts/opensearch_server.py (not a package), loaded by path once."""
    name = "opensearch_server"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, OPENSEARCH_SCRIPT)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {OPENSEARCH_SCRIPT}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec: its dataclasses look the module up
    spec.loader.exec_module(module)
    return module


def opensearch_unavailable() -> str | None:
    """Why an OpenSearch node cannot be started here, or None when it can."""
    module = _opensearch_module()
    version = module.java_version()
    if version is None or version < 11:
        return "no Java 11+ found"
    if not module.is_installed() and not module.maven_available():
        return "OpenSearch is not installed and `mvn` is not on PATH to fetch it"
    return None


class ExternalOpenSearch:
    """OPENSEARCH_URL given by the user: nothing to start or stop."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def stop(self) -> None:
        pass


def start_opensearch(heap: str = "1g") -> Any:
    """A single-node OpenSearch with k-NN (lucene engine): OPENSEARCH_URL if set, else one started
    from the cached install (scripts/opensearch_server.py). The result has `.url` and `.stop()`."""
    if os.environ.get("OPENSEARCH_URL"):
        return ExternalOpenSearch(os.environ["OPENSEARCH_URL"])
    module = _opensearch_module()
    return module.start(module.ensure_installed(), heap=heap)


class LazyOpenSearch:
    """The run's OpenSearch node, started on first use (`url()`) and shared by the parts that need
    it; `stop()` stops it (a no-op when it never started)."""

    def __init__(self) -> None:
        self.node: Any = None

    @property
    def started(self) -> bool:
        return self.node is not None

    def url(self) -> str:
        if self.node is None:
            print("starting OpenSearch ...", flush=True)
            self.node = start_opensearch()
        return self.node.url

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()
            self.node = None
