"""Builds a FastAPI app from a set of routers. Lambda handlers and the local server both use it.

The routers live in api/routes/ (one module per route group); a Lambda handler imports only its own,
the local server all of them (`all_routers`).
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any, Callable, Sequence

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .api import openapi
from .api.budget import Draining, RequestBudgetMiddleware
from .api.deps import PRINCIPAL_STATE, RATE_LIMIT_STATE, RequestState
from .api.errors import SERVER_ERROR_MESSAGE, error_response, install_error_handlers
from .errors import ServerError

log = logging.getLogger(__name__)

API_VERSION = "0.1.0"
DESCRIPTION = (
    "OpenAI's Files and Vector Stores API (and an organization API for projects, keys, limits and "
    "usage), self-hosted. Authenticate with `Authorization: Bearer <API key>`; errors are OpenAI's "
    "`{\"error\": {message, type, param, code}}`."
)


def all_routers() -> tuple[APIRouter, ...]:
    from .api.routes import files, organization, responses, search, vector_store_files, vector_stores

    return (
        files.router, vector_stores.router, vector_store_files.router, search.router, responses.router,
        organization.router,
    )


class RequestMiddleware:
    """Every response carries `x-request-id` (the SDK exposes it as `_request_id`), 500s included,
    and, once the key's rate limit was checked, OpenAI's `x-ratelimit-*-requests` headers.
    Each routed request is counted (usage per tenant and store, and Prometheus) after it is answered.

    Unhandled exceptions become OpenAI-style 500s here, inside this middleware, because
    Starlette's own catch-all handler runs outside user middleware (and would drop the header).
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + secrets.token_hex(16)
        started = False
        status = 500
        began = time.perf_counter()
        # Request state (the rate-limit dependency leaves its Decision here); the same dict the
        # routes see as `request.state`.
        state: RequestState = scope.setdefault("state", {})

        async def send_with_id(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = message.setdefault("headers", [])
                headers.append((b"x-request-id", request_id.encode()))
                decision = state.get(RATE_LIMIT_STATE)
                if decision is not None:
                    headers.extend((name.encode(), value.encode()) for name, value in decision.headers().items())
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = error_response(ServerError(SERVER_ERROR_MESSAGE))
            await response(scope, receive, send_with_id)
        finally:
            _count_request(scope, state, status, time.perf_counter() - began)


def _count_request(scope: Scope, state: RequestState, status: int, seconds: float) -> None:
    """Usage counting must never fail or delay a request: it only adds to an in-memory buffer."""
    route = scope.get("route")
    if route is None:  # no such URL
        return
    try:
        caller = state.get(PRINCIPAL_STATE)
        usage = scope["app"].state.services().usage
        usage.request(
            caller.project_id if caller is not None else None,
            scope.get("path_params", {}).get("vector_store_id"),
            scope["method"],
            route.path,
            status,
            seconds,
        )
    except Exception:
        log.warning("request not counted", exc_info=True)


def create_app(
    routers: Sequence[APIRouter],
    services: Callable[[], Any],
    *,
    lifespan: Any = None,
    ready: Callable[[], bool] = lambda: True,
    request_timeout_seconds: Callable[[], float | None] = lambda: None,
    draining: Draining | None = None,
    serve_openapi: bool = False,
    serve_docs: bool = False,
) -> FastAPI:
    """`services` returns the Services container (built lazily, once per process).
    `request_timeout_seconds` returns each request's time budget (read on the first request; None:
    none); `draining` is the local server's shutdown (see api/budget.py). `serve_openapi`: the
    OpenAPI document at /openapi.json; `serve_docs`: Swagger UI at /docs (needs the document)."""
    app = FastAPI(
        title="OpenAI-compatible Vector Stores API",
        version=API_VERSION,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url=openapi.OPENAPI_PATH if serve_openapi else None,
        generate_unique_id_function=openapi.operation_id,
        lifespan=lifespan,
    )
    if serve_openapi:
        openapi.install(app, docs=serve_docs)
    app.state.services = services
    install_error_handlers(app)
    for router in routers:
        app.include_router(router)

    @app.get("/health", include_in_schema=False)
    def health() -> JSONResponse:
        if not ready():
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/ready", include_in_schema=False)
    def readiness() -> JSONResponse:
        """Readiness for load balancers and Kubernetes: 503 while a dependency is unreachable, naming it."""
        if not ready():
            return JSONResponse({"status": "starting"}, status_code=503)
        checks = services().readiness()
        up = all(checks.values())
        body = {"status": "ok" if up else "unavailable", "checks": {k: "ok" if v else "unavailable" for k, v in checks.items()}}
        return JSONResponse(body, status_code=200 if up else 503, headers=None if up else {"retry-after": "1"})

    # Inside RequestMiddleware, so a 504 or 503 it answers carries x-request-id and is counted.
    app.add_middleware(RequestBudgetMiddleware, timeout_seconds=request_timeout_seconds, draining=draining)
    app.add_middleware(RequestMiddleware)
    return app
