"""OpenSearch cluster mode (a self-managed cluster or an Amazon OpenSearch Service domain).

Documents have deterministic ids (the chunk key) and are routed by store, so all of a store's
chunks sit on one shard; writes upsert then trim, with `refresh=true`; attribute updates and
deletes are `*_by_query`; a dense search tries the exact `knn_score` script first (bounded by
`terminate_after`), then the filtered k-NN query. See docs/opensearch-backend.md.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Iterator, Sequence, Unpack

from ..base import ChunkHit, ChunkToIndex, Filter, StoreRef
from ..planning import exact_by_estimate
from .client import OpenSearchIndexError, unless_index_missing
from .filters import attribute_entries
from .index import Documents, IndexOptions, OpenSearchIndex, Scope
from .mapping import chunk_key, chunk_mappings

log = logging.getLogger(__name__)

CONFLICT_RETRIES = 5
UPDATE_ATTRIBUTES_SCRIPT = "ctx._source.attributes = params.attributes; ctx._source.attrs = params.attrs;"


class ClusterIndex(OpenSearchIndex):
    def __init__(self, client: Any, *, shards: int = 1, replicas: int = 0, **options: Unpack[IndexOptions]) -> None:
        super().__init__(client, **options)
        self._shards = shards
        self._replicas = replicas

    def index_body(self, dimension: int) -> dict[str, Any]:
        mappings = chunk_mappings(dimension, self.engine, self._m, self._ef_construction, self._ef_search)
        return {
            "settings": {
                "index": {"knn": True, "number_of_shards": self._shards, "number_of_replicas": self._replicas}
            },
            "mappings": {**mappings, "_routing": {"required": True}},
        }

    def _request_params(self, store: StoreRef) -> dict[str, Any]:
        return {"routing": store.store_id}

    # -------------------------------------------------------------- writing
    def _write_file(
        self, name: str, store: StoreRef, file_id: str, chunks: Sequence[ChunkToIndex], documents: Documents
    ) -> None:
        """Upsert under the deterministic ids, then trim what a previous, longer version left:
        a re-indexed file never disappears from search in between."""

        def actions() -> Iterator[str]:
            for chunk, doc in documents:
                key = chunk_key(store.store_id, file_id, chunk.chunk_index)
                yield self._action({"index": {"_index": name, "_id": key, "routing": store.store_id}}, doc)

        self._bulk(actions())
        self._trim_file(name, store, file_id, [c.chunk_index for c in chunks])

    def _trim_file(self, name: str, store: StoreRef, file_id: str, kept: list[int]) -> None:
        """Delete the file's chunks that the new version does not have (a previous, longer one)."""
        scope = [*self._store_scope(store), {"term": {"file_id": file_id}}]
        if kept == list(range(len(kept))):
            query = {"bool": {"filter": [*scope, {"range": {"chunk_index": {"gte": len(kept)}}}]}}
        else:
            query = {"bool": {"filter": scope, "must_not": [{"terms": {"chunk_index": kept}}]}}
        stale = self._client.count(index=name, body={"query": query}, params=self._request_params(store))["count"]
        if stale:
            self._by_query("delete", name, store, {"query": query})

    def _by_query(self, action: str, name: str, store: StoreRef, body: dict[str, Any], timeout: float = 60) -> None:
        """delete_by_query / update_by_query on the store's shard, retried on version conflicts."""
        method = self._client.delete_by_query if action == "delete" else self._client.update_by_query
        params = {"routing": store.store_id, "refresh": "true", "conflicts": "proceed", "request_timeout": timeout}
        for attempt in range(CONFLICT_RETRIES):
            response = unless_index_missing(lambda: method(index=name, body=body, params=params), None)
            if response is None:
                return  # no index: nothing to update or delete
            if response.get("failures"):
                raise OpenSearchIndexError(f"{action}_by_query failed: {response['failures'][:3]}")
            if not response.get("version_conflicts"):
                return
            time.sleep(0.1 * 2**attempt)
        raise OpenSearchIndexError(f"{action}_by_query kept conflicting with concurrent writes")

    def update_attributes(self, store: StoreRef, file_id: str, attributes: dict[str, Any] | None) -> None:
        body = {
            "query": self._file_query(store, file_id),
            "script": {
                "lang": "painless",
                "source": UPDATE_ATTRIBUTES_SCRIPT,
                "params": {"attributes": attributes, "attrs": attribute_entries(attributes)},
            },
        }
        self._by_query("update", self.index_name(store.dimension), store, body)

    def delete_file_chunks(self, store: StoreRef, file_id: str) -> None:
        self._by_query("delete", self.index_name(store.dimension), store, {"query": self._file_query(store, file_id)})

    def delete_store(self, store: StoreRef) -> None:
        query = {"bool": {"filter": self._store_scope(store)}}
        self._by_query("delete", self.index_name(store.dimension), store, {"query": query}, self._delete_timeout)

    # -------------------------------------------------------------- reading
    def _file_documents(self, store: StoreRef, file_id: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        body = {
            "_source": fields,
            "query": {"bool": {"filter": [*self._read_scope(store), {"term": {"file_id": file_id}}]}},
            "sort": [{"chunk_index": "asc"}],
        }
        for hit in self._paged(self.index_name(store.dimension), body, self._request_params(store)):
            yield hit["_source"]

    # ------------------------------------------------------------ searching
    def _dense_search(
        self, name: str, store: StoreRef, query_value: list[float], k: int, filters: Filter | None, scope: Scope
    ) -> list[ChunkHit]:
        """Unless the catalog's estimate says the store is past the exact bound, the exact script
        runs first with terminate_after = the bound: if it did not terminate early, the subset is
        small and this is the answer, in one request. Otherwise the filtered k-NN query; should it
        come back short while more chunks match, an unbounded exact search."""
        header = {"index": name, **self._request_params(store)}
        exact_max = self._exact_max
        if exact_max > 0 and exact_by_estimate(store, filters, exact_max) is not False:
            responses = self._msearch([header, self._exact_body(query_value, k, scope, terminate_after=exact_max)])
            if responses is None:
                return []
            if not responses[0].get("terminated_early"):
                return self._dense_hits(responses[0])
        responses = self._msearch([header, self._knn_body(query_value, k, scope)])
        if responses is None:
            return []
        hits = self._dense_hits(responses[0])
        if len(hits) >= k:
            return hits[:k]
        # Approximate search came back short: if more chunks match, answer exactly.
        matching = self._client.count(
            index=name, body={"query": self._with_vector(scope)}, params=self._request_params(store)
        )["count"]
        if matching > len(hits):
            log.info("k-NN returned %d of %d matching chunks (k=%d); exact search", len(hits), matching, k)
            response = self._client.search(
                index=name, body=self._exact_body(query_value, k, scope), params=self._request_params(store)
            )
            return self._dense_hits(response)
        return hits

    def _exact_body(self, query_value: list[float], k: int, scope: Scope, terminate_after: int = 0) -> dict[str, Any]:
        body: dict[str, Any] = {
            "size": k,
            "track_total_hits": False,
            "_source": self.search_source,
            "query": {
                "script_score": {
                    "query": self._with_vector(scope),
                    "script": {
                        "source": "knn_score",
                        "lang": "knn",
                        "params": {"field": "embedding", "query_value": query_value, "space_type": "cosinesimil"},
                    },
                }
            },
        }
        if terminate_after:
            body["terminate_after"] = terminate_after
        return body
