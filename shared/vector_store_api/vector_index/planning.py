"""When a dense search is exact: the one rule both backends share.

A store, or the subset a filter selects, of at most EXACT_SEARCH_MAX_CHUNKS chunks is searched
exactly (every matching vector scored); a larger one through the HNSW index, falling back to an
exact search should the index return fewer than k hits while more chunks match. So a search always
returns min(k, matching chunks), and small stores beside large ones never lose hits to a shared
index.

Whether the subset is small is known without a query for an unfiltered search when the catalog
knows about how many chunks the store holds (StoreRef.chunk_estimate); otherwise each backend
counts, bounded: pgvector counts at most bound + 1 rows, OpenSearch (cluster) runs the exact script
with `terminate_after = bound`, OpenSearch Serverless counts in the same `_msearch` as its k-NN
query. A wrong estimate only costs time: the fallback keeps the answer exact-k.
"""

from __future__ import annotations

from .base import Filter, StoreRef


def exact_by_estimate(store: StoreRef, filters: Filter | None, max_chunks: int) -> bool | None:
    """Whether the search is within the exact bound, from the catalog's estimate alone; None when
    the matching chunks must be counted (a filtered search, or no estimate)."""
    if filters is not None or store.chunk_estimate is None:
        return None
    return store.chunk_estimate <= max_chunks
