"""What the OpenSearch (k-NN plugin) backend's two modes share: options, the shared index per
(engine, dimension), bulk writes, reading a file back, the k-NN query, text search.

The modes are subclasses, one mode each: `ClusterIndex` (cluster.py: an OpenSearch cluster or an
Amazon OpenSearch Service domain) and `ServerlessIndex` (serverless.py: an Amazon OpenSearch
Serverless vector collection). The design (layout, writes, exact-k dense search, the Serverless
rules) is described in docs/opensearch-backend.md.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from typing import Any, Callable, Iterable, Iterator, Sequence, TypedDict

import numpy as np

from ..base import ChunkHit, ChunkToIndex, Filter, StoreRef
from .client import OpenSearchIndexError, opensearch_exceptions, unless_index_missing
from .filters import attribute_entries, filter_query
from .mapping import ENGINES, SEARCH_SOURCE, chunk_document, index_name, to_hit

log = logging.getLogger(__name__)

SCROLL_PAGE = 1000  # documents a search_after page reads
BULK_RETRIES = 4

Scope = list[dict[str, Any]]  # filter-context queries that select a search's chunks
Documents = Iterator[tuple[ChunkToIndex, dict[str, Any]]]  # a file's chunks with their documents, made lazily


class IndexOptions(TypedDict, total=False):
    """The keyword options of OpenSearchIndex, which each mode passes on (defaults there)."""

    engine: str
    index_prefix: str
    hnsw_m: int
    hnsw_ef_construction: int
    hnsw_ef_search: int
    exact_search_max_chunks: int
    bulk_max_bytes: int
    bulk_max_docs: int
    delete_timeout: float


class OpenSearchIndex(ABC):
    """The VectorIndex of one OpenSearch mode (see the subclasses)."""

    search_source = SEARCH_SOURCE

    def __init__(
        self,
        client: Any,
        *,
        engine: str = "lucene",
        index_prefix: str = "vector-store-chunks",
        hnsw_m: int = 16,
        hnsw_ef_construction: int = 64,
        hnsw_ef_search: int = 100,
        exact_search_max_chunks: int = 1_000,
        bulk_max_bytes: int = 8 * 1024 * 1024,
        bulk_max_docs: int = 500,
        delete_timeout: float = 300,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unsupported OpenSearch k-NN engine {engine!r} (use one of {', '.join(ENGINES)})")
        self._client = client
        self.engine = engine
        self._prefix = index_prefix.lower()
        self._m = hnsw_m
        self._ef_construction = hnsw_ef_construction
        self._ef_search = hnsw_ef_search
        self._exact_max = exact_search_max_chunks
        self._bulk_max_bytes = bulk_max_bytes
        self._bulk_max_docs = bulk_max_docs
        self._delete_timeout = delete_timeout
        self._ready: set[str] = set()
        self._lock = threading.Lock()

    def ping(self) -> bool:
        try:  # an index existence check: Serverless collections do not answer `GET /`
            self._client.indices.exists(index=f"{self._prefix}-*", params={"request_timeout": 2})
        except Exception:  # unreachable, refused, or the circuit is open
            return False
        return True

    # --------------------------------------------------------------- layout
    def index_name(self, dimension: int) -> str:
        return index_name(self._prefix, self.engine, dimension)

    @abstractmethod
    def index_body(self, dimension: int) -> dict[str, Any]:
        """The settings and mapping the index for `dimension` is created with."""

    def prepare_store(self, store: StoreRef) -> None:
        self._ensure_index(store.dimension)

    def _ensure_index(self, dimension: int) -> str:
        name = self.index_name(dimension)
        if name in self._ready:
            return name
        with self._lock:
            if name in self._ready:
                return name
            try:
                self._client.indices.create(index=name, body=self.index_body(dimension))
                log.info("created OpenSearch index %s", name)
            except opensearch_exceptions().RequestError as e:
                if e.error != "resource_already_exists_exception":
                    raise
            self._ready.add(name)
        return name

    @staticmethod
    def _store_scope(store: StoreRef) -> Scope:
        return [{"term": {"store_id": store.store_id}}]

    def _read_scope(self, store: StoreRef, filters: Filter | None = None) -> Scope:
        # The tenant term is defence in depth: store ids are globally unique already.
        scope = [*self._store_scope(store), {"term": {"tenant_id": store.tenant_id}}]
        if filters is not None:
            scope.append(filter_query(filters))
        return scope

    def _file_query(self, store: StoreRef, file_id: str) -> dict[str, Any]:
        return {"bool": {"filter": [*self._store_scope(store), {"term": {"file_id": file_id}}]}}

    @abstractmethod
    def _request_params(self, store: StoreRef) -> dict[str, Any]:
        """Query-string parameters of a request about the store (cluster mode: its routing)."""

    def _search(self, name: str, body: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """One search; None when the index does not exist (yet)."""
        response: dict[str, Any] | None = unless_index_missing(
            lambda: self._client.search(index=name, body=body, params=params or {}), None
        )
        return response

    # -------------------------------------------------------------- writing
    def replace_file_chunks(
        self,
        store: StoreRef,
        file_id: str,
        attributes: dict[str, Any] | None,
        chunks: Sequence[ChunkToIndex],
        embeddings: np.ndarray,
    ) -> bool:
        """True: attachment is the catalog's business, OpenSearch cannot know (the pipeline handles
        detach races by deleting the file's chunks)."""
        name = self._ensure_index(store.dimension)
        vectors = np.asarray(embeddings, dtype=np.float32)
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} embeddings")
        if len(chunks) and vectors.reshape(len(chunks), -1).shape[1] != store.dimension:
            raise ValueError(f"embeddings have dimension {vectors.shape[-1]}, the store {store.dimension}")
        entries = attribute_entries(attributes)
        documents = (
            (chunk, chunk_document(store, file_id, chunk, attributes, entries, vector))
            for chunk, vector in zip(chunks, vectors, strict=True)
        )
        self._write_file(name, store, file_id, chunks, documents)
        return True

    @abstractmethod
    def _write_file(
        self, name: str, store: StoreRef, file_id: str, chunks: Sequence[ChunkToIndex], documents: Documents
    ) -> None:
        """Index the file's new chunk documents (made lazily) in place of its previous ones."""

    @abstractmethod
    def update_attributes(self, store: StoreRef, file_id: str, attributes: dict[str, Any] | None) -> None: ...

    @abstractmethod
    def delete_file_chunks(self, store: StoreRef, file_id: str) -> None: ...

    @abstractmethod
    def delete_store(self, store: StoreRef) -> None: ...

    @staticmethod
    def _action(header: dict[str, Any], doc: dict[str, Any]) -> str:
        return json.dumps(header) + "\n" + json.dumps(doc, ensure_ascii=False) + "\n"

    def _bulk(self, actions: Iterable[str], refresh: bool = True) -> None:
        """Send in batches; the last batch waits for the refresh that makes everything visible
        (all of a store's documents are on one shard, so one refresh covers every batch).
        Serverless writes pass refresh=False (no refresh parameter there) and poll instead."""
        pending: list[str] | None = None
        batch: list[str] = []
        size = 0
        for action in actions:
            action_bytes = len(action.encode("utf-8"))
            if batch and (size + action_bytes > self._bulk_max_bytes or len(batch) >= self._bulk_max_docs):
                if pending is not None:
                    self._send_bulk(pending, refresh=False)
                pending, batch, size = batch, [], 0
            batch.append(action)
            size += action_bytes
        if batch:
            if pending is not None:
                self._send_bulk(pending, refresh=False)
            pending = batch
        if pending is not None:
            self._send_bulk(pending, refresh=refresh)

    def _send_bulk(self, lines: list[str], refresh: bool) -> None:
        for attempt in range(BULK_RETRIES + 1):
            # `true`, not `wait_for`: refresh now instead of waiting up to refresh_interval for the
            # scheduled one (a shard-local refresh: the store's documents share one shard).
            params = {"refresh": "true"} if refresh else {}
            response = self._client.bulk(body="".join(lines), params=params)
            if not response.get("errors"):
                return
            failed, throttled = [], True
            for line, item in zip(lines, response["items"], strict=True):
                action, result = next(iter(item.items()))
                status = result.get("status", 200)
                if action == "delete" and status == 404:
                    continue  # already gone (Serverless deletes by _id; a repeated delete is fine)
                if status >= 300:
                    failed.append((line, result))
                    throttled = throttled and (status == 429 or self._retry_failed_item(result))
            if not failed:
                return
            if not throttled or attempt == BULK_RETRIES:
                line, result = failed[0]
                raise OpenSearchIndexError(
                    f"bulk indexing failed for {len(failed)} of {len(lines)} chunks: {result.get('error')}"
                )
            time.sleep(0.5 * 2**attempt)
            lines = [line for line, _ in failed]

    def _retry_failed_item(self, result: dict[str, Any]) -> bool:
        """Whether a bulk item that failed other than by throttling (429) is worth sending again."""
        return False

    # -------------------------------------------------------------- reading
    @abstractmethod
    def _file_documents(self, store: StoreRef, file_id: str, fields: list[str]) -> Iterable[dict[str, Any]]:
        """The _source (`fields`) of the file's chunks, one per chunk, in chunk order."""

    def _paged(
        self,
        name: str,
        body: dict[str, Any],
        params: dict[str, Any] | None = None,
        page: int = SCROLL_PAGE,
        after_full_page: Callable[[list[dict[str, Any]]], Iterable[dict[str, Any]]] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every hit of a sorted search, by search_after pages of `page` hits: no 10k window, no
        scroll context. `after_full_page(hits)`: hits to yield after each full page (Serverless
        fetches there the documents tied with the page's last one, which search_after skips)."""
        body = {**body, "size": page, "track_total_hits": False}
        while True:
            response = self._search(name, body, params)
            if response is None:
                return
            hits = response["hits"]["hits"]
            yield from hits
            if len(hits) < page:
                return
            if after_full_page is not None:
                yield from after_full_page(hits)
            body["search_after"] = hits[-1]["sort"]

    def file_chunk_texts(self, store: StoreRef, file_id: str) -> list[str]:
        return [doc["text"] for doc in self._file_documents(store, file_id, ["text"])]

    def export_file_chunks(self, store: StoreRef, file_id: str) -> tuple[list[ChunkToIndex], np.ndarray]:
        chunks: list[ChunkToIndex] = []
        vectors: list[Any] = []
        for doc in self._file_documents(store, file_id, ["chunk_index", "text", "token_count", "embedding"]):
            chunks.append(ChunkToIndex(doc["chunk_index"], doc["text"], doc.get("token_count") or 0))
            vectors.append(doc.get("embedding") or [0.0] * store.dimension)
        return chunks, np.array(vectors, dtype=np.float32).reshape(len(chunks), store.dimension)

    # ------------------------------------------------------------ searching
    def dense_search(self, store: StoreRef, vector: np.ndarray, k: int, filters: Filter | None) -> list[ChunkHit]:
        """Exactly min(k, matching chunks), best first (how each mode gets there: its `_dense_search`)."""
        query = np.asarray(vector, dtype=np.float32).ravel()
        if k <= 0 or not np.all(np.isfinite(query)) or not np.any(query):
            return []  # cosine similarity is undefined for a zero query vector
        name = self.index_name(store.dimension)
        return self._dense_search(name, store, query.tolist(), k, filters, self._read_scope(store, filters))

    @abstractmethod
    def _dense_search(
        self, name: str, store: StoreRef, query_value: list[float], k: int, filters: Filter | None, scope: Scope
    ) -> list[ChunkHit]: ...

    def _msearch(self, searches: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """The responses of one _msearch round trip; None when the index does not exist (yet)."""
        responses: list[dict[str, Any]] | None = unless_index_missing(
            lambda: self._client.msearch(body=searches)["responses"], None
        )
        if responses is None:
            return None
        for response in responses:
            if "error" in response:
                if "index_not_found_exception" in json.dumps(response["error"]):
                    return None
                raise OpenSearchIndexError(f"dense search failed: {response['error']}")
        return responses

    @staticmethod
    def _with_vector(scope: Scope) -> dict[str, Any]:
        return {"bool": {"filter": [*scope, {"exists": {"field": "embedding"}}]}}

    def _knn_body(self, query_value: list[float], k: int, scope: Scope, candidates: int = 0) -> dict[str, Any]:
        # `k` candidates per segment = ef_search for lucene; faiss uses max(ef_search, k).
        return {
            "size": k,
            "track_total_hits": False,
            "_source": self.search_source,
            "query": {
                "knn": {
                    "embedding": {
                        "vector": query_value,
                        "k": max(k, self._ef_search, candidates),
                        "filter": {"bool": {"filter": scope}},
                    }
                }
            },
        }

    def _dense_hits(self, response: dict[str, Any]) -> list[ChunkHit]:
        # cosinesimil scores are (1 + cos) / 2 for the knn query and the knn_score script alike.
        return self._one_per_chunk([to_hit(h, 2.0 * float(h["_score"]) - 1.0) for h in response["hits"]["hits"]])

    def _one_per_chunk(self, hits: list[ChunkHit]) -> list[ChunkHit]:
        """The hits without repeats of a chunk. Cluster mode: a chunk is one document (its id is
        deterministic), so there are none."""
        return hits

    def text_search(self, store: StoreRef, query: str, k: int, filters: Filter | None) -> list[ChunkHit]:
        """BM25 `match` (any query word), the store and attribute filters in filter context."""
        if k <= 0 or not query.strip():
            return []
        body = {
            "size": k,
            "track_total_hits": False,
            "_source": self.search_source,
            "query": {
                "bool": {
                    "must": [{"match": {"text": {"query": query, "operator": "or"}}}],
                    "filter": self._read_scope(store, filters),
                }
            },
        }
        response = self._search(self.index_name(store.dimension), body, self._request_params(store))
        if response is None:
            return []
        return self._one_per_chunk([to_hit(h, float(h["_score"])) for h in response["hits"]["hits"]])
