"""The storage primitive under the rate limiter: a versioned value per key with compare-and-set."""

from __future__ import annotations

from typing import Protocol


class BucketStore(Protocol):
    """Holds one float state (the bucket's theoretical arrival time) per key, with a version.

    Every write is conditional on the version the writer read, so concurrent writers can never
    both win: that is what makes the limiter exact across processes and Lambdas.
    """

    def get(self, key: str) -> tuple[float, int] | None:
        """(state, version) of `key`, or None when it does not exist."""
        ...

    def put_if(self, key: str, new_state: float, expected_version: int | None, ttl_seconds: float) -> bool:
        """Write `new_state` with version expected_version + 1 (or 1) iff the stored version is still
        `expected_version` (None: iff the key does not exist). The entry may be forgotten after
        `ttl_seconds`. False when another writer got there first."""
        ...
