"""Failing fast while a dependency (the database, OpenSearch, the embedding provider) is down.

A circuit breaker per dependency: the first call that finds it unreachable opens the circuit, and
for `cooldown` seconds every call fails at once with `DependencyDown` (a 503 with Retry-After at
the API) instead of waiting out a pool or connect timeout. After the cooldown the next call tries
again; its success closes the circuit, so recovery needs no restart.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from .errors import DependencyDown

log = logging.getLogger(__name__)


class CircuitBreaker:
    def __init__(self, dependency: str, cooldown: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.dependency = dependency
        self._cooldown = cooldown
        self._clock = clock
        self._open_until = 0.0
        self._tripped = False  # failed, and not yet seen working again
        self._lock = threading.Lock()

    @property
    def tripped(self) -> bool:
        """The dependency failed last time it was tried: callers should probe it with a short timeout."""
        return self._tripped

    def check(self) -> None:
        """Raise `DependencyDown` while the circuit is open."""
        if not self._tripped:  # the hot path: no lock, no clock
            return
        wait = self._open_until - self._clock()
        if wait > 0:
            raise DependencyDown(self.dependency, wait)

    def failed(self) -> DependencyDown:
        """Open the circuit for `cooldown` seconds; returns the error to raise."""
        with self._lock:
            if not self._tripped:
                log.warning("%s is unavailable; failing fast for %.1f s at a time", self.dependency, self._cooldown)
            self._tripped = True
            self._open_until = self._clock() + self._cooldown
        return DependencyDown(self.dependency, self._cooldown)

    def succeeded(self) -> None:
        if self._tripped:
            with self._lock:
                if self._tripped:
                    log.warning("%s is available again", self.dependency)
                self._tripped = False

    @contextmanager
    def guard(self, is_outage: Callable[[BaseException], bool]) -> Iterator[None]:
        """Run a call to the dependency: refused while open; an error `is_outage` says is one opens it."""
        self.check()
        try:
            yield
        except Exception as error:
            if is_outage(error):
                raise self.failed() from error
            raise
        self.succeeded()
