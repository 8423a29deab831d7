"""The local ingest queue: worker threads in the API process."""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable, Sequence

from .base import IngestJob

log = logging.getLogger(__name__)

ProcessJob = Callable[..., object]  # (job, *, final_attempt: bool) -> object


class InProcessQueue:
    """Runs each job on a worker thread, retrying transient failures with backoff.

    A job already waiting is not queued twice (the pipeline is idempotent anyway).
    """

    def __init__(self, process: ProcessJob, workers: int = 2, max_attempts: int = 3, backoff_seconds: float = 0.5):
        self._process = process
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._jobs: queue.Queue[IngestJob | None] = queue.Queue()
        self._pending: set[IngestJob] = set()
        self._pending_lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, name=f"ingest-worker-{i}", daemon=True) for i in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    def enqueue(self, jobs: Sequence[IngestJob]) -> None:
        with self._pending_lock:
            fresh = [job for job in jobs if job not in self._pending]
            self._pending.update(fresh)
        for job in fresh:
            self._jobs.put(job)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            with self._pending_lock:
                self._pending.discard(job)
            self._run_job(job)
            self._jobs.task_done()

    def _run_job(self, job: IngestJob) -> None:
        for attempt in range(1, self._max_attempts + 1):
            try:
                self._process(job, final_attempt=attempt == self._max_attempts)
                return
            except Exception:
                log.warning("ingest attempt %d/%d failed; retrying", attempt, self._max_attempts, exc_info=True)
                time.sleep(self._backoff * 2 ** (attempt - 1))

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every queued job has run (for tests and shutdown)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._jobs.unfinished_tasks:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
