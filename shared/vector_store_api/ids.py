"""Object ids that sort by creation time, so list cursors survive deletes and same-second creates.

An id is a prefix + 10 chars of millisecond timestamp + 14 random chars, in lower-case Crockford
base32 (ASCII order == time order). Within one process, ids made in the same millisecond increase
monotonically (the random part is incremented, as ULID does).
"""

from __future__ import annotations

import secrets
import threading
import time

from .errors import invalid_id

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_TIME_CHARS = 10
_RANDOM_CHARS = 14
_RANDOM_BITS = _RANDOM_CHARS * 5

_lock = threading.Lock()
_last_ms = -1
_last_random = 0

# Every kind of id, by its prefix (OpenAI's where it has the object).
FILE_PREFIX = "file-"
VECTOR_STORE_PREFIX = "vs_"
FILE_BATCH_PREFIX = "vsfb_"
PROJECT_PREFIX = "proj_"
KEY_PREFIX = "key_"
PROJECT_KEY_PREFIX = "sk-proj-"  # a project key's secret value
ADMIN_KEY_PREFIX = "sk-admin-"  # an admin key's secret value
USAGE_PAGE_PREFIX = "page_"  # a usage listing's `next_page` cursor
RESPONSE_PREFIX = "resp_"
FILE_SEARCH_CALL_PREFIX = "fs_"
MESSAGE_PREFIX = "msg_"


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


# The last second of year 9999: the largest Unix time a request may name (Python's dates end there,
# and created_at + a lifetime up to it still fits the catalog's bigint columns).
MAX_TIMESTAMP = 253_402_300_799


def check_id(value: str, prefix: str, param: str) -> None:
    """An id from a client must carry its kind's prefix: a 400 naming `param`, before any lookup."""
    if not value.startswith(prefix):
        raise invalid_id(param, value, prefix)
