"""Object ids that sort by creation time, so list cursors survive deletes and same-second creates.

An id is a prefix + 10 chars of millisecond timestamp + 14 random chars, in lower-case Crockford
base32 (ASCII order == time order). Within one process, ids made in the same millisecond increase
monotonically (the random part is incremented, as ULID does).
"""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_TIME_CHARS = 10
_RANDOM_CHARS = 14
_RANDOM_BITS = _RANDOM_CHARS * 5

_lock = threading.Lock()
_last_ms = -1
_last_random = 0

FILE_PREFIX = "file-"
VECTOR_STORE_PREFIX = "vs_"
FILE_BATCH_PREFIX = "vsfb_"


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    global _last_ms, _last_random
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            now_ms = _last_ms
            _last_random += 1
        else:
            _last_random = secrets.randbits(_RANDOM_BITS - 1)  # headroom for increments
        _last_ms = now_ms
        return prefix + _encode(now_ms, _TIME_CHARS) + _encode(_last_random, _RANDOM_CHARS)


def now() -> int:
    """Unix seconds, as every `created_at` in the API."""
    return int(time.time())
