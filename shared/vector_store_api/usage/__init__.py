"""Usage counters per tenant, vector store and day: buffered in memory (recorder.py), written with
atomic increments to a UsageStore (DynamoDB on Lambda, PostgreSQL locally); Prometheus for /metrics."""

from .base import UsageKey, UsageRow, UsageStore
from .recorder import UsageRecorder

__all__ = ["UsageKey", "UsageRow", "UsageRecorder", "UsageStore"]
