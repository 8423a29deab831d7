"""Quota errors as the API shows them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..catalog.quotas import QuotaExceeded
from ..errors import InsufficientQuota


@contextmanager
def quota_checked(param: str) -> Iterator[None]:
    """The catalog's QuotaExceeded (nothing was written) as OpenAI's 429 `insufficient_quota` on `param`."""
    try:
        yield
    except QuotaExceeded as exc:
        raise InsufficientQuota(str(exc), param=param) from exc
