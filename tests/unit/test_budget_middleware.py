"""The request budget (request_budget.py) and its middleware (api/budget.py), on a small FastAPI app
driven through httpx's ASGI transport: the 504 at the deadline, work stopped at its next
checkpoint, a download not cut by the deadline once it has started, and draining's 503."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from vector_store_api.api.budget import Draining, RequestBudgetMiddleware
from vector_store_api.api.errors import install_error_handlers
from vector_store_api.errors import RequestTimedOut, request_timed_out, shutting_down
from vector_store_api.request_budget import UNLIMITED, RequestBudget, checkpoint, current_budget, running_under


def test_a_budget_stops_at_its_deadline_and_interrupts_only_what_is_running():
    now = [0.0]
    budget = RequestBudget(2.0, clock=lambda: now[0])
    interrupted: list[str] = []
    with budget.on_stop(lambda: interrupted.append("left early")):
        pass
    with budget.on_stop(lambda: interrupted.append("running")):
        budget.check()
        now[0] = 2.0
        with pytest.raises(RequestTimedOut) as timed_out:
            budget.check()
    assert interrupted == ["running"] and timed_out.value.code == "timeout"
    budget.stop(shutting_down())  # the first reason stays
    with pytest.raises(RequestTimedOut):
        budget.check()


def test_a_lifted_deadline_no_longer_counts_and_outside_work_is_unlimited():
    now = [0.0]
    budget = RequestBudget(1.0, clock=lambda: now[0], started=False)
    now[0] = 5.0
    budget.check()  # not started: the body is still arriving
    budget.start()
    budget.lift()
    now[0] = 50.0
    budget.check()
    assert current_budget() is UNLIMITED
    checkpoint()
    with running_under(budget):
        assert current_budget() is budget
    with pytest.raises(RuntimeError):
        UNLIMITED.stop(request_timed_out(1))


def _app(seconds: float | None, draining: Draining | None = None) -> tuple[RequestBudgetMiddleware, dict[str, float]]:
    app = FastAPI()
    install_error_handlers(app)
    seen: dict[str, float] = {}

    @app.get("/busy")
    def busy() -> dict[str, str]:
        started = time.monotonic()
        try:
            while True:  # CPU-bound work with a checkpoint between its stages
                checkpoint()
                time.sleep(0.01)
        finally:
            seen["stopped_after"] = time.monotonic() - started

    @app.get("/download")
    def download() -> StreamingResponse:
        def slow() -> Iterator[bytes]:
            for _ in range(5):
                time.sleep(0.1)
                yield b"x" * 10

        return StreamingResponse(slow())

    return RequestBudgetMiddleware(app, lambda: seconds, draining), seen


def _get(app: RequestBudgetMiddleware, path: str) -> httpx.Response:
    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            return await http.get(path)

    return asyncio.run(call())


def test_past_its_budget_a_request_gets_a_504_and_its_work_stops():
    app, seen = _app(0.2)
    began = time.monotonic()
    response = _get(app, "/busy")
    assert response.status_code == 504
    assert response.json()["error"] == {
        "message": "The request took longer than 0.2 s (the server's REQUEST_TIMEOUT_SECONDS) and was stopped."
        " Retry it, or ask for less (fewer queries, a smaller file).",
        "type": "server_error",
        "param": None,
        "code": "timeout",
    }
    assert time.monotonic() - began < 1.0
    assert 0.1 <= seen["stopped_after"] < 0.5  # stopped at the next checkpoint, not left running


def test_a_started_download_is_not_cut_by_the_deadline():
    app, _ = _app(0.2)
    response = _get(app, "/download")
    assert response.status_code == 200 and response.content == b"x" * 50  # 0.5 s of sending, past the 0.2 s


def test_while_draining_new_requests_get_a_503():
    draining = Draining()
    draining.closed = True
    app, _ = _app(None, draining)
    response = _get(app, "/busy")
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "service_unavailable"
