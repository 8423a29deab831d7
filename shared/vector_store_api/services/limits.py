"""A project's effective limits (rate limits and quotas), and quota errors as the API shows them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeGuard

from ..catalog.quotas import QuotaExceeded
from ..errors import InsufficientQuota
from ..models.admin import QUOTA_FIELDS, Quotas, RateLimitId
from ..settings import Settings

LIMIT_OF_RATE_LIMIT: dict[RateLimitId, str] = {
    "rl-requests": "requests_per_minute",
    "rl-vector-store-writes": "store_writes_per_minute",
}
RATE_LIMIT_DESCRIPTIONS: dict[RateLimitId, str] = {
    "rl-requests": "Requests per minute per API key (a key may have a lower limit of its own).",
    "rl-vector-store-writes": "File attaches and file batches per minute per vector store.",
}


def is_rate_limit_id(value: str) -> TypeGuard[RateLimitId]:
    return value in LIMIT_OF_RATE_LIMIT


@dataclass(frozen=True)
class Limits:
    """A project's effective limits: the settings' defaults with the admin's overrides. 0 = unlimited."""

    requests_per_minute: int
    store_writes_per_minute: int
    quotas: Quotas

    @classmethod
    def defaults(cls, settings: Settings) -> Limits:
        return cls(
            requests_per_minute=settings.rate_limit_requests_per_minute,
            store_writes_per_minute=settings.store_writes_per_minute,
            quotas=Quotas(**{name: getattr(settings, "quota_" + name) for name in QUOTA_FIELDS}),
        )

    def with_overrides(self, overrides: dict[str, Any]) -> Limits:
        """`overrides`: a project's stored limits (rate limit and quota names to values)."""
        if not overrides:
            return self
        rates = {k: int(v) for k, v in overrides.items() if k in LIMIT_OF_RATE_LIMIT.values()}
        quotas = {k: int(v) for k, v in overrides.items() if k in QUOTA_FIELDS}
        return replace(self, **rates, quotas=self.quotas.model_copy(update=quotas) if quotas else self.quotas)


@contextmanager
def quota_checked(param: str) -> Iterator[None]:
    """The catalog's QuotaExceeded (nothing was written) as OpenAI's 429 `insufficient_quota` on `param`."""
    try:
        yield
    except QuotaExceeded as exc:
        raise InsufficientQuota(str(exc), param=param) from exc
