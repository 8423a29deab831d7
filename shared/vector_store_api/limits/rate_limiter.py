"""The rate-limit rules, once: GCRA (a token bucket expressed as a theoretical arrival time).

A limit of N requests per window W gives an emission interval T = W / N and a burst of N. The
bucket stores one number, `tat` (the time at which it would be full again):

- a request at `now` is allowed iff  tat - now <= W - T;  then  tat' = max(tat, now) + T;
- remaining = floor((W - (tat' - now)) / T)   (requests still allowed right now);
- reset     = tat' - now                      (time until the bucket is full again);
- a denied request may retry after  tat - now - (W - T)  (time until the next token).

Every admission is a conditional write on the version that was read (compare-and-set over a
BucketStore), retried on contention, so N concurrent callers across processes admit exactly the
limit: never more.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Callable

from .base import BucketStore

# Float noise must not turn an exact boundary into a denial (e.g. 3 * (60 / 3) vs 60).
_EPSILON = 1e-9


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: float  # until the bucket is full again (allowed) / until the next token (denied)
    retry_after_seconds: float  # 0 when allowed

    def headers(self) -> dict[str, str]:
        """OpenAI's x-ratelimit-* request headers for this decision."""
        return {
            "x-ratelimit-limit-requests": str(self.limit),
            "x-ratelimit-remaining-requests": str(self.remaining),
            "x-ratelimit-reset-requests": format_duration(self.reset_seconds),
        }

    def retry_headers(self) -> dict[str, str]:
        """Retry-After (whole seconds, at least 1) and retry-after-ms, as OpenAI sends on a 429."""
        millis = max(1, math.ceil(round(self.retry_after_seconds * 1000, 3)))
        return {
            "retry-after": str(max(1, math.ceil(millis / 1000))),
            "retry-after-ms": str(millis),
        }


class RateLimitContention(RuntimeError):
    """The compare-and-set loop lost too many races in a row (extreme contention on one key)."""


def format_duration(seconds: float) -> str:
    """OpenAI's duration format: "120ms", "1s", "1.5s", "6m0s", "1h2m3s"."""
    if seconds <= 0:
        return "0s"
    # Round up (never promise a reset earlier than it is), but not float noise: 6.000000001 s is "6s".
    millis = max(1, math.ceil(round(seconds * 1000, 3)))
    if millis < 1000:
        return f"{millis}ms"
    seconds = millis / 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{int(minutes)}m{text}"
    return text


class RateLimiter:
    def __init__(
        self,
        store: BucketStore,
        *,
        clock: Callable[[], float] = time.time,
        max_attempts: int = 100,
        sole_writer: bool = False,
    ):
        """`sole_writer`: this process is the only one using the store (the local server), so the
        state it last wrote is almost always current: try a write on it first and read the store
        only when that write loses (one round trip per request instead of two). Never wrong, as
        every write is still conditional; only slower where many processes share a key."""
        self.store = store
        self.clock = clock
        self.max_attempts = max_attempts
        self._known: dict[str, tuple[float, int]] | None = {} if sole_writer else None

    def acquire(self, key: str, limit: int, window_seconds: float = 60.0, *, now: float | None = None) -> Decision:
        """Take one request from `key`'s bucket (limit per window). limit <= 0 means unlimited."""
        if limit <= 0:
            return Decision(True, 0, 0, 0.0, 0.0)
        interval = window_seconds / limit  # T
        tolerance = window_seconds - interval  # W - T: how far ahead of now tat may be
        known = self._known
        for attempt in range(self.max_attempts):
            at = self.clock() if now is None else now
            # A remembered state can only be behind the stored one (tat never decreases, and a
            # bucket is forgotten only once full), so a denial decided on it is right too.
            current = known.get(key) if known is not None and attempt == 0 else None
            if current is None:
                current = self.store.get(key)
            tat, version = (at, None) if current is None else (max(current[0], at), current[1])
            if tat - at > tolerance + _EPSILON:
                retry_after = tat - at - tolerance
                return Decision(False, limit, 0, retry_after, retry_after)
            new_tat = tat + interval
            # Forget the bucket once it is full again: an absent key is a full bucket.
            ttl = new_tat - at + 1
            if self.store.put_if(key, new_tat, version, ttl):
                if known is not None and version is not None:  # a new bucket's version is the store's secret
                    if len(known) > 100_000:
                        known.clear()
                    known[key] = (new_tat, version + 1)
                ahead = new_tat - at
                # Counted as of after the write: `at` may predate a concurrent writer's reading,
                # which would under-count the remaining requests by one.
                ahead_now = new_tat - (max(at, self.clock()) if now is None else at)
                remaining = int(math.floor((window_seconds - ahead_now) / interval + _EPSILON))
                return Decision(True, limit, max(0, remaining), ahead, 0.0)
            if known is not None:
                known.pop(key, None)
            if attempt >= 3:  # heavy contention: back off a little before re-reading
                time.sleep(random.uniform(0, 0.002 * min(attempt, 20)))
        raise RateLimitContention(f"could not update rate-limit bucket {key!r}")
