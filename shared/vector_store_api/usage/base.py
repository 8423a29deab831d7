"""The storage primitive under the usage counters: atomic additions to named counters per day."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, NamedTuple, Protocol, Sequence

TENANT_TOTAL = ""  # the vector_store_id of a tenant's own row (totals over all its stores)

# Counter names. Requests are also counted per route, as ROUTE_PREFIX + "POST /v1/vector_stores/{vector_store_id}/search".
REQUESTS = "requests"
ROUTE_PREFIX = "requests:"
SEARCHES = "searches"
FILES_UPLOADED = "files_uploaded"
BYTES_UPLOADED = "bytes_uploaded"
FILES_INGESTED = "files_ingested"
CHUNKS_EMBEDDED = "chunks_embedded"
TOKENS_EMBEDDED = "tokens_embedded"
BYTES_INGESTED = "bytes_ingested"
RESPONSES = "responses"  # POST /v1/responses answered (completed, incomplete or failed)
TOOL_SEARCHES = "tool_searches"  # file_search calls the Responses tool made, per store searched
UPSTREAM_INPUT_TOKENS = "upstream_input_tokens"  # the chat endpoint's `usage`, summed per response
UPSTREAM_OUTPUT_TOKENS = "upstream_output_tokens"


class UsageKey(NamedTuple):
    tenant_id: str
    day: str  # UTC date, YYYY-MM-DD
    vector_store_id: str  # TENANT_TOTAL for the tenant's totals


@dataclass(frozen=True)
class UsageRow:
    key: UsageKey
    counters: dict[str, int]


class UsageStore(Protocol):
    def add(self, increments: Mapping[UsageKey, Mapping[str, int]]) -> None:
        """Add each counter to its row atomically (concurrent writers never lose an increment)."""
        ...

    def query(self, tenant_ids: Sequence[str], first_day: str, last_day: str) -> list[UsageRow]:
        """Every row of these tenants from first_day to last_day inclusive."""
        ...

    def delete_before(self, day: str) -> int:
        """Forget rows older than `day` (a store with TTL may do nothing and return 0)."""
        ...
