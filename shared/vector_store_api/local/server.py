"""The local server: every router, the embedded database, the in-process worker, one process.

    python -m vector_store_api.local.server     (or the `vector-store-api` script; `make run`)
"""

from __future__ import annotations

import logging
import threading
import warnings
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ..app import ALL_ROUTERS, create_app
from ..container import Services, build_services
from ..settings import Settings, get_settings

log = logging.getLogger("vector_store_api")


class LocalRuntime:
    """Builds the services at start-up, resumes unfinished ingestion and sweeps expired objects."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.services: Services | None = None
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    def get(self) -> Services:
        if self.services is None:
            raise RuntimeError("the service is still starting")
        return self.services

    def start(self) -> None:
        self.services = build_services(self.settings)
        resumed = self.services.resume_unfinished()
        if resumed:
            log.info("resumed %d unfinished ingest jobs", resumed)
        self._sweeper = threading.Thread(target=self._sweep_loop, name="expiry-sweeper", daemon=True)
        self._sweeper.start()

    def _sweep_loop(self) -> None:
        while not self._stop.wait(self.settings.expiry_sweep_seconds):
            try:
                self.get().sweep_expired()
            except Exception:
                log.exception("expiry sweep failed")

    def stop(self) -> None:
        self._stop.set()
        if self.services is not None:
            self.services.close()
            self.services = None


def build_local_app(settings: Settings | None = None) -> FastAPI:
    runtime = LocalRuntime(settings or get_settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    app = create_app(ALL_ROUTERS, runtime.get, lifespan=lifespan, ready=lambda: runtime.services is not None)
    app.state.runtime = runtime
    return app


def main() -> None:
    import uvicorn

    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # pgserver narrates every pg_ctl call at INFO, and asks platformdirs for a runtime dir that may not exist.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")
    uvicorn.run(build_local_app(settings), host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
