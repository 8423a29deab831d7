"""Every HTTP request runs under a time budget and stops when nobody waits for it any more.

`RequestBudgetMiddleware` gives each request a `RequestBudget` (request_budget.py) and runs the app
beside three watchers; the first of them to fire stops the budget, which interrupts the work:

- the deadline (REQUEST_TIMEOUT_SECONDS): the client gets a 504 `server_error` / `timeout` at once;
- the client going away (its `http.disconnect`): nothing is sent;
- the end of a shutdown's grace period (`Draining`): a 503 `service_unavailable`.

Once it is stopped, the work ends at its next checkpoint (or at once, where it registered an
interrupt, as a running PostgreSQL statement does); whatever the app still sends is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import APIError, request_timed_out, shutting_down
from ..request_budget import ClientDisconnected, RequestBudget, running_under
from .errors import error_response

log = logging.getLogger(__name__)

# How long a stopped request's work may take to reach its next checkpoint before the middleware
# stops waiting for it (a stage that cannot be interrupted, e.g. one model call).
ABANDON_AFTER_SECONDS = 10.0

Interrupt = Callable[[BaseException], None]


class Draining:
    """A shutdown in progress: new requests get a 503, and once the grace period ends so do the ones
    still running (their work is stopped). `idle` is set when no request is left."""

    def __init__(self) -> None:
        self.closed = False
        self._running: set[Interrupt] = set()
        self.idle = asyncio.Event()

    def begin(self, grace_seconds: float) -> None:
        """Start draining (on the event loop): the running requests have `grace_seconds` left."""
        self.closed = True
        self._update_idle()
        asyncio.get_running_loop().call_later(grace_seconds, self._grace_over)

    def _grace_over(self) -> None:
        if self._running:
            log.warning("shutdown: stopping %d request(s) still running after the grace period", len(self._running))
        for interrupt in list(self._running):
            interrupt(shutting_down())

    def track(self, interrupt: Interrupt) -> None:
        self._running.add(interrupt)

    def untrack(self, interrupt: Interrupt) -> None:
        self._running.discard(interrupt)
        self._update_idle()

    def _update_idle(self) -> None:
        if self.closed and not self._running:
            self.idle.set()


class _Listener:
    """Hands the request's messages to the app and, once the body is in, keeps listening, so a client
    that goes away is noticed while the app is still working (uvicorn reports it as `http.disconnect`;
    after the response it reports that too, which is not a client leaving)."""

    def __init__(self, receive: Receive, body_complete: Callable[[], None]) -> None:
        self._receive = receive
        self._body_complete = body_complete
        self._messages: asyncio.Queue[Message] = asyncio.Queue(maxsize=1)  # backpressure: one message ahead
        self._pump: asyncio.Future[None] | None = None
        self.gone = asyncio.Event()

    def start(self) -> None:
        if self._pump is None:
            self._pump = asyncio.ensure_future(self._pumped())

    def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()

    async def _pumped(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.gone.set()
                return
            if message["type"] == "http.request" and not message.get("more_body", False):
                self._body_complete()
            await self._messages.put(message)

    async def receive(self) -> Message:
        self.start()  # a request expecting `100-continue` is read only once the app asks for its body
        if not self._messages.empty() or not self.gone.is_set():
            getting = asyncio.ensure_future(self._messages.get())
            leaving = asyncio.ensure_future(self.gone.wait())
            done, _ = await asyncio.wait({getting, leaving}, return_when=asyncio.FIRST_COMPLETED)
            leaving.cancel()
            if getting in done:
                return getting.result()
            getting.cancel()
        return {"type": "http.disconnect"}


class _Responder:
    """One response per request: the app's, or the middleware's if it answers first."""

    def __init__(self, send: Send, response_started: Callable[[], None]) -> None:
        self._send = send
        self._response_started = response_started
        self.started = False
        self.complete = False
        self.taken_over = False  # the middleware answered (or the client left): drop the app's messages

    async def app_send(self, message: Message) -> None:
        if self.taken_over:
            return
        if message["type"] == "http.response.start":
            self.started = True
            self._response_started()
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.complete = True
        await self._send(message)

    async def answer(self, scope: Scope, error: APIError | None) -> None:
        """Take over: answer `error` unless the app already started its response (or `error` is None)."""
        started, self.taken_over = self.started, True
        if error is not None and not started:
            await error_response(error)(scope, _no_body, self._send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


class RequestBudgetMiddleware:
    """The budget counts the server's work: from the end of the request's body (an upload's bytes
    arrive at the client's pace) to the start of the response (a download leaves at it)."""

    def __init__(
        self, app: ASGIApp, timeout_seconds: Callable[[], float | None], draining: Draining | None = None
    ) -> None:
        self.app = app
        self._timeout_seconds = timeout_seconds  # read on the first request (a Lambda's settings load late)
        self._seconds: float | None = None
        self._read = False
        self._draining = draining

    def _budget_seconds(self) -> float | None:
        if not self._read:
            self._seconds, self._read = self._timeout_seconds(), True
        return self._seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._draining is not None and self._draining.closed:
            await error_response(shutting_down())(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        seconds = self._budget_seconds()
        budget = RequestBudget(seconds, started=False)
        stop_reason: asyncio.Future[BaseException] = loop.create_future()
        timer: asyncio.TimerHandle | None = None

        def interrupt(reason: BaseException) -> None:
            if not stop_reason.done():
                stop_reason.set_result(reason)

        def body_complete() -> None:
            nonlocal timer
            if seconds is not None and timer is None:
                budget.start()
                timer = loop.call_later(seconds, interrupt, request_timed_out(seconds))

        def response_started() -> None:
            budget.lift()
            if timer is not None:
                timer.cancel()

        listener, responder = _Listener(receive, body_complete), _Responder(send, response_started)
        with running_under(budget):  # the app task (and the threads it starts) inherit the budget
            app_task = asyncio.ensure_future(self.app(scope, listener.receive, responder.app_send))
        if not any(k == b"expect" and v.lower() == b"100-continue" for k, v in scope.get("headers", [])):
            listener.start()
        left = asyncio.ensure_future(listener.gone.wait())
        if self._draining is not None:
            self._draining.track(interrupt)
        try:
            watched: set[asyncio.Future[Any]] = {app_task, stop_reason, left}
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            if not app_task.done():
                if left.done() and not responder.complete:
                    interrupt(ClientDisconnected("the client disconnected"))
                if stop_reason.done():
                    await self._stop(scope, budget, responder, stop_reason.result(), app_task)
                    return
            await app_task
        except ClientDisconnect:  # the client left while its body was being read: nobody to answer
            return
        except Exception:
            if budget.stopped is None:
                raise
            log.info("%s %s stopped: %s", scope.get("method"), scope.get("path"), budget.stopped)
        finally:
            if self._draining is not None:
                self._draining.untrack(interrupt)
            if timer is not None:
                timer.cancel()
            left.cancel()
            listener.close()

    async def _stop(
        self, scope: Scope, budget: RequestBudget, responder: _Responder, reason: BaseException, app_task: asyncio.Future[None]
    ) -> None:
        """Answer for the app (if it has not started its response), stop its work, and wait for it to end."""
        await responder.answer(scope, reason if isinstance(reason, APIError) else None)
        await asyncio.to_thread(budget.stop, reason)  # interrupting may block briefly (a PostgreSQL cancel)
        log.info("%s %s stopped: %s", scope.get("method"), scope.get("path"), reason)
        done, _ = await asyncio.wait({app_task}, timeout=ABANDON_AFTER_SECONDS)
        if not done:
            log.warning("%s %s: its work did not stop within %.0f s", scope.get("method"), scope.get("path"), ABANDON_AFTER_SECONDS)
            app_task.add_done_callback(lambda task: task.cancelled() or task.exception())
            return
        try:
            app_task.result()
        except Exception:
            log.debug("stopped request ended with an error", exc_info=True)
