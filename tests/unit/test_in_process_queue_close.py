"""InProcessQueue.close at shutdown: a running job is stopped at its next checkpoint (each attempt
runs under a budget of its own), not waited for; it is not retried (its lease runs out, and the next
start resumes the file)."""

from __future__ import annotations

import threading
import time

from vector_store_api.errors import ServiceUnavailable
from vector_store_api.queue.base import IngestJob
from vector_store_api.queue.in_process import InProcessQueue
from vector_store_api.request_budget import checkpoint


def test_close_stops_a_running_job_at_its_next_checkpoint_and_does_not_retry_it():
    started, attempts, ended = threading.Event(), [], []

    def endless_job(job: IngestJob, *, token: str, first_attempt_at: float, final_attempt: bool) -> None:
        attempts.append(job.file_id)
        started.set()
        try:
            while True:  # e.g. embedding a large file batch by batch
                checkpoint()
                time.sleep(0.01)
        except ServiceUnavailable as error:
            ended.append(error.message)
            raise

    queue = InProcessQueue(endless_job, workers=1, backoff_seconds=0.01)
    queue.enqueue([IngestJob("tenant", "vs_1", "file-1")])
    assert started.wait(5)
    began = time.monotonic()
    queue.close(timeout=5)
    assert time.monotonic() - began < 1.0
    assert ended == ["The server is shutting down. Please retry your request shortly."]
    time.sleep(0.1)
    assert attempts == ["file-1"]  # not retried after the stop
