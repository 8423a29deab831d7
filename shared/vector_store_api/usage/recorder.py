"""Counts usage in memory and writes it out in batches, off the request's critical path.

A request only adds to an in-process dict (under a lock, no I/O). `flush()` writes the sums to the
UsageStore: every few seconds on the local server, at the end of each invocation on Lambda. A failed
write is logged and its counts are kept for the next flush; it never fails a request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Mapping

from . import base
from .base import TENANT_TOTAL, UsageKey, UsageStore

if TYPE_CHECKING:  # prometheus_client is a local-mode dependency only
    from .prometheus import PrometheusMetrics

log = logging.getLogger(__name__)

SEARCH_ROUTE = "/v1/vector_stores/{vector_store_id}/search"
# Keys kept in memory while the store is unreachable; beyond this, the oldest counts are dropped.
MAX_PENDING_KEYS = 100_000


def utc_day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).date().isoformat()


class UsageRecorder:
    def __init__(
        self, store: UsageStore, *, metrics: PrometheusMetrics | None = None, clock: Callable[[], float] = time.time
    ):
        """`metrics`: a PrometheusMetrics (local server) that sees the same events, or None."""
        self.store = store
        self.metrics = metrics
        self._clock = clock
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending: defaultdict[UsageKey, Counter[str]] = defaultdict(Counter)

    def count(self, tenant_id: str, vector_store_id: str | None, counters: Mapping[str, int]) -> None:
        """Add to the tenant's totals for today and, with a store, to the store's row as well."""
        day = utc_day(self._clock())
        with self._lock:
            self._pending[UsageKey(tenant_id, day, TENANT_TOTAL)].update(counters)
            if vector_store_id:
                self._pending[UsageKey(tenant_id, day, vector_store_id)].update(counters)

    def request(
        self, tenant_id: str | None, vector_store_id: str | None, method: str, route: str, status: int, seconds: float
    ) -> None:
        if self.metrics is not None:
            self.metrics.request(method, route, status, seconds)
        if tenant_id is None:  # unauthenticated, or an organization admin key: no tenant to charge
            return
        counters = {base.REQUESTS: 1, f"{base.ROUTE_PREFIX}{method} {route}": 1}
        if route == SEARCH_ROUTE and status < 400:
            counters[base.SEARCHES] = 1
            if self.metrics is not None:
                self.metrics.searches.inc()
        self.count(tenant_id, vector_store_id, counters)

    def uploaded(self, tenant_id: str, size: int) -> None:
        self.count(tenant_id, None, {base.FILES_UPLOADED: 1, base.BYTES_UPLOADED: size})

    def ingested(self, tenant_id: str, vector_store_id: str, chunks: int, tokens: int, usage_bytes: int) -> None:
        self.count(
            tenant_id,
            vector_store_id,
            {base.FILES_INGESTED: 1, base.CHUNKS_EMBEDDED: chunks, base.TOKENS_EMBEDDED: tokens, base.BYTES_INGESTED: usage_bytes},
        )
        if self.metrics is not None:
            self.metrics.ingested(chunks, tokens, usage_bytes)

    def responded(self, tenant_id: str, input_tokens: int, output_tokens: int) -> None:
        """A Response finished; its upstream tokens, as the chat endpoint reported them."""
        self.count(
            tenant_id,
            None,
            {base.RESPONSES: 1, base.UPSTREAM_INPUT_TOKENS: input_tokens, base.UPSTREAM_OUTPUT_TOKENS: output_tokens},
        )
        if self.metrics is not None:
            self.metrics.responded(input_tokens, output_tokens)

    def tool_searched(self, tenant_id: str, vector_store_id: str) -> None:
        self.count(tenant_id, vector_store_id, {base.TOOL_SEARCHES: 1})
        if self.metrics is not None:
            self.metrics.tool_searches.inc()

    def ingest_failed(self, code: str) -> None:
        if self.metrics is not None:
            self.metrics.files_failed.labels(code=code).inc()

    def flush(self) -> None:
        """Write what was counted; never raises."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, defaultdict(Counter)
            if not batch:
                return
            try:
                self.store.add({key: dict(counters) for key, counters in batch.items()})
            except Exception:
                log.warning("usage counters not written (kept for the next flush)", exc_info=True)
                with self._lock:
                    for key, counters in batch.items():
                        if len(self._pending) < MAX_PENDING_KEYS or key in self._pending:
                            self._pending[key].update(counters)
