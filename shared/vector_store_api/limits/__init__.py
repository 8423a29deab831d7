"""Rate limits: the GCRA rules (rate_limiter.py) over a compare-and-set bucket store (base.py).

The rules exist once; PostgreSQL (local mode) and DynamoDB (Lambda) only store the buckets.
"""

from .base import BucketStore
from .rate_limiter import Decision, RateLimiter, format_duration

__all__ = ["BucketStore", "Decision", "RateLimiter", "format_duration"]
