"""How long a request may keep the server busy, and how its work is stopped.

Each HTTP request runs under a `RequestBudget` (api/budget.py creates it): a deadline
(REQUEST_TIMEOUT_SECONDS) and a stop switch, thrown when the deadline passes, the client goes away
or a shutdown's grace period ends. The budget travels with the request in a context variable (into
the worker threads that run it, too), so the code doing the work checks it between stages
(`checkpoint()`: each query's embedding, each backend call, each database checkout, each block of an
upload), and what cannot wait for the next check registers how to interrupt it (`on_stop`: a
PostgreSQL connection cancels its running statement).

Work outside a request (ingest jobs, tools) runs under `UNLIMITED`, unless its runner gives it one.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

log = logging.getLogger(__name__)


class ClientDisconnected(Exception):
    """The client went away before its answer: nobody is waiting for this work any more."""


class RequestBudget:
    """`seconds`: the time the work may take, counted from `start()` (at once unless `started=False`)
    until `lift()` (None: no deadline, only the stop switch)."""

    def __init__(
        self, seconds: float | None = None, clock: Callable[[], float] = time.monotonic, *, started: bool = True
    ) -> None:
        self._clock = clock
        self.seconds = seconds
        self.deadline: float | None = None
        if started:
            self.start()
        self._stopped: BaseException | None = None
        self._on_stop: dict[int, Callable[[], object]] = {}
        self._lock = threading.Lock()  # held while interrupting, so a resource is never released mid-interrupt

    @property
    def stopped(self) -> BaseException | None:
        """Why the work was stopped (the error `check` raises), or None while it may go on."""
        return self._stopped

    def start(self) -> None:
        """The deadline counts from now (the server's work begins: the request's body is in)."""
        if self.seconds is not None:
            self.deadline = self._clock() + self.seconds

    def lift(self) -> None:
        """No deadline from here on (the answer has started: sending it is paced by the client)."""
        self.deadline = None

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - self._clock()

    def check(self) -> None:
        """Raise the stop reason once the work must stop; the deadline counts even before its timer fires."""
        if self._stopped is None and self.deadline is not None and self._clock() >= self.deadline:
            from .errors import request_timed_out

            self.stop(request_timed_out(self.seconds or 0.0))
        if self._stopped is not None:
            raise self._stopped

    def stop(self, reason: BaseException) -> None:
        """Stop the work (the first reason counts) and interrupt whatever registered with `on_stop`."""
        with self._lock:
            if self._stopped is not None:
                return
            self._stopped = reason
            for interrupt in list(self._on_stop.values()):
                try:
                    interrupt()
                except Exception:
                    log.warning("interrupting stopped work failed", exc_info=True)

    @contextmanager
    def on_stop(self, interrupt: Callable[[], object]) -> Iterator[None]:
        """Call `interrupt` if the work is stopped while the block runs (never after it left)."""
        key = id(interrupt)
        with self._lock:
            self._on_stop[key] = interrupt
        try:
            self.check()
            yield
        finally:
            with self._lock:
                self._on_stop.pop(key, None)


class _Unlimited(RequestBudget):
    """Work outside any request: never stopped, and nothing to register."""

    def check(self) -> None:
        return None

    def stop(self, reason: BaseException) -> None:
        raise RuntimeError("the unlimited budget cannot be stopped; run the work under a budget of its own")

    @contextmanager
    def on_stop(self, interrupt: Callable[[], object]) -> Iterator[None]:
        yield


UNLIMITED: RequestBudget = _Unlimited()

_current: ContextVar[RequestBudget] = ContextVar("request_budget", default=UNLIMITED)


def current_budget() -> RequestBudget:
    return _current.get()


def checkpoint() -> None:
    """Between two stages of work: raise if the current request's work must stop."""
    _current.get().check()


@contextmanager
def running_under(budget: RequestBudget) -> Iterator[RequestBudget]:
    """Run the block (and the tasks and threads it starts with this context) under `budget`."""
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)
