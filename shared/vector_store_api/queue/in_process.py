"""The local ingest queue: worker threads in the API process."""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from typing import Protocol, Sequence

from .base import IngestJob

log = logging.getLogger(__name__)


class ProcessJob(Protocol):
    def __call__(self, job: IngestJob, *, token: str, first_attempt_at: float, final_attempt: bool) -> object: ...


class InProcessQueue:
    """Runs each job on a worker thread, retrying it with backoff until the pipeline settles it.

    The pipeline bounds the retries (it fails the file once a job has been retried for its retry
    window); while the catalog itself is down nothing can be settled, so the job waits it out. On
    `close` the jobs still waiting or retrying are abandoned: their leases run out and the
    stuck-ingest sweep (or the next start) resumes them. A job already waiting is not queued twice.
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
        self._jobs: queue.Queue[IngestJob | None] = queue.Queue()
        self._pending: set[IngestJob] = set()
        self._pending_lock = threading.Lock()
        self._closing = threading.Event()
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
        token, first_attempt_at = uuid.uuid4().hex, time.time()
        attempt = 0
        while not self._closing.is_set():
            attempt += 1
            try:
                self._process(job, token=token, first_attempt_at=first_attempt_at, final_attempt=False)
                return
            except Exception as error:
                delay = min(self._backoff_max, self._backoff * 2 ** min(attempt - 1, 30))
                log.warning(
                    "ingest attempt %d failed (%s); retrying in %.1f s", attempt, error, delay, exc_info=attempt == 1
                )
                self._closing.wait(delay)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every queued job has run (for tests and shutdown)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._jobs.unfinished_tasks:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self) -> None:
        self._closing.set()
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
