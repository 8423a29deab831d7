"""Rate-limit buckets in PostgreSQL (local mode): the embedded database, no extra service."""

from __future__ import annotations

import math
import random
import secrets
import time

from ..catalog.database import Database

# One insert in this many also deletes expired buckets (an absent bucket is a full one).
_CLEANUP_ONE_IN = 256


def initial_version() -> int:
    """A fresh starting version, so a bucket deleted and re-created never repeats an old version (no ABA)."""
    return secrets.randbits(52) + 1


class PostgresBucketStore:
    """The `rate_limit_buckets` table (schema migration 3). Conditional writes: INSERT … ON CONFLICT
    DO NOTHING creates, UPDATE … WHERE version = expected advances; PostgreSQL row locks make the
    second of two concurrent writers see the new version and fail."""

    def __init__(self, db: Database):
        self.db = db

    def get(self, key: str) -> tuple[float, int] | None:
        with self.db.connection() as conn:
            row = conn.execute("SELECT tat, version FROM rate_limit_buckets WHERE key = %s", (key,)).fetchone()
        return None if row is None else (float(row["tat"]), int(row["version"]))

    def put_if(self, key: str, new_state: float, expected_version: int | None, ttl_seconds: float) -> bool:
        now = time.time()
        expires_at = math.ceil(now + max(ttl_seconds, 1))
        with self.db.connection() as conn:
            if expected_version is None:
                cursor = conn.execute(
                    "INSERT INTO rate_limit_buckets (key, tat, version, expires_at) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (key) DO NOTHING",
                    (key, new_state, initial_version(), expires_at),
                )
                if cursor.rowcount == 1 and random.randrange(_CLEANUP_ONE_IN) == 0:
                    conn.execute("DELETE FROM rate_limit_buckets WHERE expires_at < %s", (int(now),))
            else:
                cursor = conn.execute(
                    "UPDATE rate_limit_buckets SET tat = %s, version = version + 1, expires_at = %s "
                    "WHERE key = %s AND version = %s",
                    (new_state, expires_at, key, expected_version),
                )
            written: bool = cursor.rowcount == 1
            return written

    def delete_expired(self, now: float | None = None) -> int:
        with self.db.connection() as conn:
            cursor = conn.execute(
                "DELETE FROM rate_limit_buckets WHERE expires_at < %s", (int(time.time() if now is None else now),)
            )
            deleted: int = cursor.rowcount
            return deleted
