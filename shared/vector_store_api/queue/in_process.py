"""The local ingest queue: worker threads in the API process."""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Protocol, Sequence

from ..errors import shutting_down
from ..request_budget import RequestBudget, running_under
from .base import IngestJob

log = logging.getLogger(__name__)


class ProcessJob(Protocol):
    def __call__(self, job: IngestJob, *, token: str, first_attempt_at: float, final_attempt: bool) -> object: ...


@dataclass(order=True)
class _Retry:
    due: float
    job: IngestJob = field(compare=False)
    token: str = field(compare=False)
    first_attempt_at: float = field(compare=False)
    attempt: int = field(compare=False)


class InProcessQueue:
    """Runs each job on a worker thread, retrying it with backoff until the pipeline settles it.

    The pipeline bounds the retries (it fails the file once a job has been retried for its retry
    window); while the catalog itself is down nothing can be settled, so the job waits it out. A job
    waiting for its next attempt does not hold a worker: other files go on meanwhile. On `close` the
    jobs still waiting are abandoned and the running ones stopped at their next checkpoint (each runs
    under a budget of its own, see request_budget.py); their leases run out and the stuck-ingest
    sweep (or the next start) resumes them. A job already waiting for its first attempt is not queued
    twice.
    """

    def __init__(
        self,
        process: ProcessJob,
        workers: int = 2,
        backoff_seconds: float = 0.5,
        backoff_max_seconds: float = 30.0,
    ):
        self._process = process
        self._backoff = backoff_seconds
        self._backoff_max = backoff_max_seconds
        self._jobs: queue.Queue[_Retry | None] = queue.Queue()
        self._pending: set[IngestJob] = set()
        self._pending_lock = threading.Lock()
        self._retries: list[_Retry] = []  # a heap, by due time
        self._retries_changed = threading.Condition()
        self._closing = False
        self._running: set[RequestBudget] = set()  # the attempts running now, stopped by close()
        self._threads = [
            threading.Thread(target=self._run, name=f"ingest-worker-{i}", daemon=True) for i in range(max(1, workers))
        ]
        self._threads.append(threading.Thread(target=self._release_due_retries, name="ingest-retries", daemon=True))
        for thread in self._threads:
            thread.start()

    def enqueue(self, jobs: Sequence[IngestJob]) -> None:
        with self._pending_lock:
            fresh = [job for job in jobs if job not in self._pending]
            self._pending.update(fresh)
        for job in fresh:
            self._jobs.put(_Retry(0.0, job, uuid.uuid4().hex, time.time(), 1))

    def _run(self) -> None:
        while (attempt := self._jobs.get()) is not None:
            if attempt.attempt == 1:
                with self._pending_lock:
                    self._pending.discard(attempt.job)
            if not self._closing:  # on close, what is still queued is left to the next start
                self._run_attempt(attempt)
            self._jobs.task_done()

    def _run_attempt(self, attempt: _Retry) -> None:
        budget = RequestBudget()
        with self._retries_changed:
            if self._closing:
                return
            self._running.add(budget)
        try:
            with running_under(budget):
                self._process(
                    attempt.job, token=attempt.token, first_attempt_at=attempt.first_attempt_at, final_attempt=False
                )
        except Exception as error:
            if self._closing:
                log.info("ingest of %s stopped by shutdown; it resumes at the next start", attempt.job.file_id)
                return
            delay = min(self._backoff_max, self._backoff * 2 ** min(attempt.attempt - 1, 30))
            log.warning(
                "ingest attempt %d failed (%s); retrying in %.1f s",
                attempt.attempt, error, delay, exc_info=attempt.attempt == 1,
            )
            with self._retries_changed:
                if not self._closing:
                    heapq.heappush(
                        self._retries,
                        _Retry(time.monotonic() + delay, attempt.job, attempt.token, attempt.first_attempt_at, attempt.attempt + 1),
                    )
                    self._retries_changed.notify()
        finally:
            with self._retries_changed:
                self._running.discard(budget)

    def _release_due_retries(self) -> None:
        with self._retries_changed:
            while not self._closing:
                wait = self._retries[0].due - time.monotonic() if self._retries else None
                if wait is not None and wait <= 0:
                    self._jobs.put(self._retries[0])  # before the pop: `join` never sees neither
                    heapq.heappop(self._retries)
                    continue
                self._retries_changed.wait(wait)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every queued job has run to its end, retries included (for tests and shutdown)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._jobs.unfinished_tasks or self._retries:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop: waiting jobs are dropped, running ones stopped; waits at most `timeout` for the workers."""
        with self._retries_changed:
            self._closing = True
            self._retries.clear()
            running = list(self._running)
            self._retries_changed.notify()
        for budget in running:
            budget.stop(shutting_down())
        for _ in self._threads:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        stuck = [thread.name for thread in self._threads if thread.is_alive()]
        if stuck:
            log.warning("ingest workers still busy after %.0f s (left to exit with the process): %s", timeout, stuck)
