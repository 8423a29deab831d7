"""The OpenSearch (k-NN plugin) implementation of VectorIndex.

Layout: one shared index per (engine, dimension), named `{prefix}-{engine}-{dimension}`, created
idempotently by `prepare_store` (and before any write). Every store of that dimension lives in it.
- Not one index per store: every index costs at least one shard (heap, file handles, a Lucene
  writer, an HNSW graph per segment) and an entry in the cluster state; thousands of small stores
  would mean thousands of shards, far past what a cluster (or a domain's shard limit) tolerates.
- Every request is routed with `routing=store_id` (`_routing` is required by the mapping), so all
  of a store's chunks sit on one shard: searches touch a single shard, per-store deletes are one
  shard-local delete_by_query, and a refresh waited for by a write covers the whole store. Every
  query is also filtered by a `store_id` term (routing selects a shard, not a store).
- Attributes are not mapped field-per-key (that would explode the shared mapping); they are a
  `nested` list of typed entries under `dynamic: strict`, see filters.py. The original attribute
  dict is kept as a non-indexed object (`enabled: false`) and returned as is.

Documents: `_id` = f"{store_id}:{file_id}:{chunk_index}", fields store_id/tenant_id/file_id
(keyword), chunk_index/token_count (integer), text (`text`, `english` analyzer: stemming and stop
words, like PostgreSQL's english text search), embedding (`knn_vector`, HNSW, cosinesimil, lucene or
faiss), attributes, attrs. Vectors are also kept in _source: update_by_query rewrites documents from
_source, and `export_file_chunks` reads them back.

Writes: `replace_file_chunks` bulk-indexes the file's chunks under their deterministic ids
(overwriting a previous version in place), the last bulk request with `refresh=true` (the shard
refreshes now rather than at its next scheduled refresh), so a file reported completed is
searchable at once; then chunks of a previous, longer version are
deleted (delete_by_query, only when there are any). Upsert-then-trim instead of delete-then-insert
means a re-indexed file never disappears from search in between. It returns True: attachment is
the catalog's business, OpenSearch cannot know (the pipeline handles detach races by deleting the
file's chunks). Attribute updates and deletes are `*_by_query` with routing and `refresh=true`,
retried while they hit version conflicts with concurrent writes.

Dense search returns exactly min(k, matching chunks), best first, like pgvector:
- unless the search is unfiltered on a store the catalog counts above exact_search_max_chunks
  (StoreRef.chunk_estimate), an exact `script_score` (`knn_score`, cosinesimil) over the matching
  chunks runs first with `terminate_after = exact_search_max_chunks`; if it did not terminate
  early, the subset is small and this is the exact answer (pgvector's exact-scan bound), in one
  request. Measured on 24 k chunks, the script over a 1 / 10 / 30 % subset takes 2.6 / 3.9 / 5.9 ms
  against 3.0 / 5.8 / 7.0 ms for the filtered k-NN query (which is not exact past k per segment),
  and the bound (20 000 chunks) 12.7 ms: what a filter matching more than the bound pays extra;
- otherwise a `knn` query with the store and attribute filters INSIDE it (efficient filtering:
  lucene/faiss search the graph restricted to matching documents, not post-filtering),
  `k = max(k, ef_search)` candidates (ef_search on every version and engine) and size k answers;
  should it return fewer than k hits while more chunks match (approximate filtered search can),
  an unbounded exact search does.
The k-NN score of cosinesimil (lucene, faiss and the knn_score script alike) is (1 + cos) / 2;
ChunkHit.score converts it back to the cosine similarity. cosinesimil rejects zero vectors: a chunk
with a zero embedding is indexed without one (text search still finds it, dense search never does)
and a zero query vector returns no dense hits (pgvector would rank everything with a NaN score).

Text search: `match` on `text` with operator OR (any query word may match), in filter context
the store and attribute filters; score = BM25 (note: term statistics are per shard, i.e. shared
with the other stores on that shard, not per store). The `english` analyzer comes from OpenSearch's
analysis-common module (in every regular distribution and on AWS; the minimal integ-test zip lacks it).

Serverless mode (`serverless=True`, for Amazon OpenSearch Serverless vector search collections).
A vector collection accepts no custom document ids, no `refresh` parameter, no routing, no scroll;
*_by_query and painless/knn scripts are assumed unavailable, and index settings other than
`index.knn` are rejected. Only bulk index (service-assigned `_id`), bulk delete by `_id`, `_search`
(search_after paging, aggregations), `_msearch`, `_count` and filtered k-NN queries are used:
- The index has the same mapping without `_routing: required` and without shard/replica settings,
  plus `chunk_key` (keyword, the cluster-mode id f"{store_id}:{file_id}:{chunk_index}", also the
  ChunkHit.chunk_id: stable across writes, unlike the service-assigned `_id`), `generation`
  (keyword) and `chunk_count` (chunks in that generation; stored, not indexed). The two modes'
  indexes are not interchangeable (a cluster-mode index lacks these fields).
- Every write (replace_file_chunks, update_attributes) indexes the file's chunks under a new
  `generation`: 16 hex digits of the clock in ns (bumped past the newest generation of the file
  already visible, should this host's clock lag) + a uuid4, so generations sort in write order.
  The write then SETTLES (`_settle`): it polls (size-0 search, `filters` aggregation) until all of
  its documents are visible, then lists the file's documents (search_after over chunk_key,
  generation; page 1000) and bulk-deletes by `_id` those of older generations and duplicates of its
  own (a bulk request retried by the client after a timeout is indexed twice: no id makes it
  idempotent), and polls until they are gone. Bounded by `visibility_timeout` (OpenSearchIndexError
  after it). So a file reported completed is searchable at once, as on the other backends, and a
  re-indexed file never vanishes from search in between (old documents go only once the new ones
  are visible). A write that sees a NEWER generation of its file appear (a concurrent write of the
  same file that started later) is superseded: it deletes its own documents and returns.
- update_attributes reads the file's current chunks back from _source (vectors included) and
  rewrites them with the new attributes as a new generation (no update_by_query, no script).
- delete_file_chunks / delete_store list the ids (search_after) and bulk-delete them, re-listing now
  and then, until `_count` says none is visible (bounded by visibility_timeout / delete_timeout).
- file_chunk_texts / export_file_chunks read every visible document of the file and return ONE
  generation, in chunk order: the newest complete one (all its chunk_count chunks visible), else
  the newest (one per chunk_index). Outside a write there is only one.
- Searches filter by store (no routing). While a write settles, two generations of a chunk can be
  visible together: hits are deduplicated by chunk_key (keeping the best), so a search in that
  window may return fewer than k.
- Dense search returns min(k, matching chunks) without the knn_score script: one `_msearch` runs
  the filtered k-NN query and counts the matching chunks (track_total_hits up to 10000). Lucene and
  faiss (efficient filtering) search a segment exactly when its filtered documents are at most the
  query's `k`; so up to max(k, ef_search) matching chunks the answer is exact as is, up to
  exact_search_max_chunks the k-NN query is re-run with k = matching (exact), and above that, should
  approximate filtered search return fewer than k hits, it is re-run with k widened to
  min(matching, 10000) and the top k are taken.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any, Iterable, Iterator, Sequence
from urllib.parse import unquote, urlsplit

import numpy as np

from ..base import ChunkHit, ChunkToIndex, Filter, StoreRef
from .auth import client_auth_kwargs
from .filters import attribute_entries, filter_query

log = logging.getLogger(__name__)

ENGINES = ("lucene", "faiss")
SEARCH_SOURCE = ["file_id", "text", "attributes"]
SERVERLESS_SEARCH_SOURCE = [*SEARCH_SOURCE, "chunk_key"]
SCROLL_PAGE = 1000
MAX_KNN_K = 10_000  # the k-NN plugin's limit for `k`
MAX_RESULT_WINDOW = 10_000  # the default index.max_result_window: the largest `size`
SCAN_SORT = [{"chunk_key": "asc"}, {"generation": "asc"}]
CONFLICT_RETRIES = 5
SERVERLESS_EXACT_KNN_MAX = 2_000  # serverless mode: largest subset made exact by re-running k-NN
BULK_RETRIES = 4
UPDATE_ATTRIBUTES_SCRIPT = "ctx._source.attributes = params.attributes; ctx._source.attrs = params.attrs;"


class OpenSearchIndexError(RuntimeError):
    pass


# Threads that may use the client at once besides the ingest workers: the server's request threads
# (anyio's default limit, which serves sync routes) and the search service's text-query threads.
REQUEST_THREADS = 40 + 4


def default_pool_size(ingest_workers: int) -> int:
    return REQUEST_THREADS + ingest_workers


def build_client(settings: Any) -> Any:
    """An `opensearchpy.OpenSearch` client for settings.opensearch_url and its auth mode."""
    from opensearchpy import OpenSearch, Urllib3HttpConnection

    url = settings.opensearch_url
    if not url:
        raise OpenSearchIndexError("OPENSEARCH_URL is not set")
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OpenSearchIndexError(f"OPENSEARCH_URL must be an http(s) URL, got {url!r}")
    use_ssl = parts.scheme == "https"
    # An explicit port: opensearch-py would otherwise default a port-less http URL to 9200.
    host: dict[str, Any] = {"host": parts.hostname, "port": parts.port or (443 if use_ssl else 80)}
    if parts.path and parts.path != "/":
        host["url_prefix"] = parts.path.rstrip("/")
    kwargs: dict[str, Any] = {
        "hosts": [host],
        "use_ssl": use_ssl,
        "verify_certs": settings.opensearch_verify_certs,
        "http_compress": settings.opensearch_http_compress,
        "timeout": 30,
        "max_retries": 3,
        "retry_on_timeout": True,
        "retry_on_status": (429, 502, 503, 504),
        "connection_class": Urllib3HttpConnection,
        # One pooled connection per thread that may talk to the node at once (urllib3 keeps 1 by
        # default and discards the rest after use: a new TCP connection per request under load).
        "pool_maxsize": settings.opensearch_pool_size or default_pool_size(settings.ingest_workers),
    }
    if settings.opensearch_ca_certs:
        kwargs["ca_certs"] = str(settings.opensearch_ca_certs)
    if use_ssl and not settings.opensearch_verify_certs:
        kwargs["ssl_show_warn"] = False
    kwargs.update(
        client_auth_kwargs(
            settings,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password is not None else None,
        )
    )
    return OpenSearch(**kwargs)


def _exceptions() -> Any:
    from opensearchpy import exceptions

    return exceptions


def _is_index_missing(error: Exception) -> bool:
    return getattr(error, "error", None) == "index_not_found_exception" or "index_not_found_exception" in str(error)


def _chunk_id(store_id: str, file_id: str, chunk_index: int) -> str:
    return f"{store_id}:{file_id}:{chunk_index}"


def _new_generation(after: str | None = None) -> str:
    """A unique write generation that sorts (as a keyword) after every earlier one: 16 hex digits of
    the wall clock in nanoseconds, bumped past `after` (the newest generation seen) should this
    host's clock lag behind the writer of `after`, then a uuid4 for uniqueness."""
    stamp = time.time_ns()
    if after:
        try:
            stamp = max(stamp, int(after[:16], 16) + 1)
        except ValueError:
            pass
    return f"{stamp:016x}{uuid.uuid4().hex}"


class OpenSearchIndex:
    def __init__(
        self,
        client: Any,
        *,
        engine: str = "lucene",
        index_prefix: str = "vector-store-chunks",
        hnsw_m: int = 16,
        hnsw_ef_construction: int = 64,
        hnsw_ef_search: int = 100,
        shards: int = 1,
        replicas: int = 0,
        exact_search_max_chunks: int = 1_000,
        bulk_max_bytes: int = 8 * 1024 * 1024,
        bulk_max_docs: int = 500,
        delete_timeout: float = 300,
        serverless: bool = False,
        visibility_timeout: float = 120,
        poll_interval: float = 0.5,
    ):
        if engine not in ENGINES:
            raise ValueError(f"unsupported OpenSearch k-NN engine {engine!r} (use one of {', '.join(ENGINES)})")
        self._client = client
        self.engine = engine
        self._prefix = index_prefix.lower()
        self._m = hnsw_m
        self._ef_construction = hnsw_ef_construction
        self._ef_search = hnsw_ef_search
        self._shards = shards
        self._replicas = replicas
        self._exact_max = exact_search_max_chunks
        self._bulk_max_bytes = bulk_max_bytes
        self._bulk_max_docs = bulk_max_docs
        self._delete_timeout = delete_timeout
        # Amazon OpenSearch Serverless (vector search collection): see "Serverless mode" above.
        self.serverless = serverless
        self._visibility_timeout = visibility_timeout
        self._poll_interval = poll_interval
        self._search_source = SERVERLESS_SEARCH_SOURCE if serverless else SEARCH_SOURCE
        self._ready: set[str] = set()
        self._lock = threading.Lock()

    # --------------------------------------------------------------- layout
    def index_name(self, dimension: int) -> str:
        return f"{self._prefix}-{self.engine}-{int(dimension)}"

    def index_body(self, dimension: int) -> dict[str, Any]:
        parameters: dict[str, Any] = {"m": self._m, "ef_construction": self._ef_construction}
        if self.engine == "faiss":
            parameters["ef_search"] = self._ef_search  # faiss reads it from the mapping; lucene takes k
        body: dict[str, Any] = {
            "settings": {
                "index": {
                    "knn": True,
                    "number_of_shards": self._shards,
                    "number_of_replicas": self._replicas,
                }
            },
            "mappings": {
                "dynamic": "strict",
                "_routing": {"required": True},
                "properties": {
                    "store_id": {"type": "keyword"},
                    "tenant_id": {"type": "keyword"},
                    "file_id": {"type": "keyword"},
                    "chunk_index": {"type": "integer"},
                    "token_count": {"type": "integer", "index": False},
                    "text": {"type": "text", "analyzer": "english"},
                    "embedding": {
                        "type": "knn_vector",
                        "dimension": int(dimension),
                        "method": {
                            "name": "hnsw",
                            "space_type": "cosinesimil",
                            "engine": self.engine,
                            "parameters": parameters,
                        },
                    },
                    "attributes": {"type": "object", "enabled": False},
                    "attrs": {
                        "type": "nested",
                        "properties": {
                            "key": {"type": "keyword"},
                            "s": {"type": "keyword"},
                            "n": {"type": "double"},
                            "b": {"type": "boolean"},
                            "bn": {"type": "byte"},
                        },
                    },
                },
            },
        }
        if self.serverless:
            # Serverless manages shards, replicas and algo settings (and rejects them), and has no
            # custom routing; documents get service-assigned ids, so they carry their own key and
            # the generation (write) that produced them.
            body["settings"] = {"index": {"knn": True}}
            del body["mappings"]["_routing"]
            body["mappings"]["properties"].update(
                chunk_key={"type": "keyword"},  # f"{store_id}:{file_id}:{chunk_index}"
                generation={"type": "keyword"},
                chunk_count={"type": "integer", "index": False},  # chunks in the generation
            )
        return body

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
            except _exceptions().RequestError as e:
                if e.error != "resource_already_exists_exception":
                    raise
            self._ready.add(name)
        return name

    @staticmethod
    def _store_scope(store: StoreRef) -> list[dict[str, Any]]:
        return [{"term": {"store_id": store.store_id}}]

    def _read_scope(self, store: StoreRef, filters: Filter | None = None) -> list[dict[str, Any]]:
        # The tenant term is defence in depth: store ids are globally unique already.
        scope = [*self._store_scope(store), {"term": {"tenant_id": store.tenant_id}}]
        if filters is not None:
            scope.append(filter_query(filters))
        return scope

    # -------------------------------------------------------------- writing
    def replace_file_chunks(
        self,
        store: StoreRef,
        file_id: str,
        attributes: dict[str, Any] | None,
        chunks: Sequence[ChunkToIndex],
        embeddings: np.ndarray,
    ) -> bool:
        name = self._ensure_index(store.dimension)
        vectors = np.asarray(embeddings, dtype=np.float32)
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} embeddings")
        if len(chunks) and vectors.reshape(len(chunks), -1).shape[1] != store.dimension:
            raise ValueError(f"embeddings have dimension {vectors.shape[-1]}, the store {store.dimension}")
        entries = attribute_entries(attributes)
        generation = self._next_generation(name, store, file_id) if self.serverless else None

        def actions() -> Iterator[str]:
            for chunk, vector in zip(chunks, vectors, strict=True):
                header: dict[str, Any]
                if self.serverless:
                    header = {"index": {"_index": name}}  # Serverless assigns the _id
                else:
                    header = {
                        "index": {
                            "_index": name,
                            "_id": _chunk_id(store.store_id, file_id, chunk.chunk_index),
                            "routing": store.store_id,
                        }
                    }
                doc: dict[str, Any] = {
                    "store_id": store.store_id,
                    "tenant_id": store.tenant_id,
                    "file_id": file_id,
                    "chunk_index": chunk.chunk_index,
                    "token_count": chunk.token_count,
                    "text": chunk.text.replace("\x00", ""),
                    "attributes": attributes,
                    "attrs": entries,
                }
                if generation is not None:
                    doc["chunk_key"] = _chunk_id(store.store_id, file_id, chunk.chunk_index)
                    doc["generation"] = generation
                    doc["chunk_count"] = len(chunks)
                # cosinesimil cannot index a zero (or non-finite) vector: such a chunk stays
                # text-searchable but is never a dense hit (pgvector ranks it last with NaN).
                if np.all(np.isfinite(vector)) and np.any(vector):
                    doc["embedding"] = vector.tolist()
                yield json.dumps(header) + "\n" + json.dumps(doc, ensure_ascii=False) + "\n"

        if generation is not None:
            self._bulk(actions(), refresh=False)
            self._settle(name, store, file_id, generation, len(chunks))
            return True
        self._bulk(actions())
        self._trim_file(name, store, file_id, [c.chunk_index for c in chunks])
        return True

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
                    # A just-created Serverless index may briefly be unknown to the ingest path.
                    retryable = status == 429 or (self.serverless and _is_index_missing_item(result))
                    throttled = throttled and retryable
            if not failed:
                return
            if not throttled or attempt == BULK_RETRIES:
                line, result = failed[0]
                raise OpenSearchIndexError(
                    f"bulk indexing failed for {len(failed)} of {len(lines)} chunks: {result.get('error')}"
                )
            time.sleep(0.5 * 2**attempt)
            lines = [line for line, _ in failed]

    def _delete_ids(self, name: str, ids: Iterable[str]) -> None:
        self._bulk((json.dumps({"delete": {"_index": name, "_id": i}}) + "\n" for i in ids), refresh=False)

    def _trim_file(self, name: str, store: StoreRef, file_id: str, kept: list[int]) -> None:
        """Delete the file's chunks that the new version does not have (a previous, longer one)."""
        scope = [*self._store_scope(store), {"term": {"file_id": file_id}}]
        if kept == list(range(len(kept))):
            query = {"bool": {"filter": [*scope, {"range": {"chunk_index": {"gte": len(kept)}}}]}}
        else:
            query = {"bool": {"filter": scope, "must_not": [{"terms": {"chunk_index": kept}}]}}
        stale = self._client.count(index=name, body={"query": query}, params={"routing": store.store_id})["count"]
        if stale:
            self._by_query("delete", name, store, {"query": query})

    def _by_query(self, action: str, name: str, store: StoreRef, body: dict[str, Any], timeout: float = 60) -> None:
        """delete_by_query / update_by_query on the store's shard, retried on version conflicts."""
        method = self._client.delete_by_query if action == "delete" else self._client.update_by_query
        params = {"routing": store.store_id, "refresh": "true", "conflicts": "proceed", "request_timeout": timeout}
        for attempt in range(CONFLICT_RETRIES):
            try:
                response = method(index=name, body=body, params=params)
            except _exceptions().NotFoundError as e:
                if _is_index_missing(e):
                    return
                raise
            if response.get("failures"):
                raise OpenSearchIndexError(f"{action}_by_query failed: {response['failures'][:3]}")
            if not response.get("version_conflicts"):
                return
            time.sleep(0.1 * 2**attempt)
        raise OpenSearchIndexError(f"{action}_by_query kept conflicting with concurrent writes")

    def update_attributes(self, store: StoreRef, file_id: str, attributes: dict[str, Any] | None) -> None:
        if self.serverless:
            self._serverless_update_attributes(store, file_id, attributes)
            return
        body = {
            "query": {"bool": {"filter": [*self._store_scope(store), {"term": {"file_id": file_id}}]}},
            "script": {
                "lang": "painless",
                "source": UPDATE_ATTRIBUTES_SCRIPT,
                "params": {"attributes": attributes, "attrs": attribute_entries(attributes)},
            },
        }
        self._by_query("update", self.index_name(store.dimension), store, body)

    def delete_file_chunks(self, store: StoreRef, file_id: str) -> None:
        query = {"bool": {"filter": [*self._store_scope(store), {"term": {"file_id": file_id}}]}}
        if self.serverless:
            self._purge(self.index_name(store.dimension), query, self._visibility_timeout, f"file {file_id}")
            return
        self._by_query("delete", self.index_name(store.dimension), store, {"query": query})

    def delete_store(self, store: StoreRef) -> None:
        query = {"bool": {"filter": self._store_scope(store)}}
        if self.serverless:
            timeout = max(self._delete_timeout, self._visibility_timeout)
            self._purge(self.index_name(store.dimension), query, timeout, f"store {store.store_id}")
            return
        self._by_query("delete", self.index_name(store.dimension), store, {"query": query}, self._delete_timeout)

    # -------------------------------------------------------------- reading
    def _file_docs(self, store: StoreRef, file_id: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        """The file's chunks in chunk order (search_after pages: no 10k window, no scroll context)."""
        body: dict[str, Any] = {
            "size": SCROLL_PAGE,
            "track_total_hits": False,
            "_source": fields,
            "query": {"bool": {"filter": [*self._read_scope(store), {"term": {"file_id": file_id}}]}},
            "sort": [{"chunk_index": "asc"}],
        }
        while True:
            try:
                response = self._client.search(
                    index=self.index_name(store.dimension), body=body, params={"routing": store.store_id}
                )
            except _exceptions().NotFoundError as e:
                if _is_index_missing(e):
                    return
                raise
            hits = response["hits"]["hits"]
            for hit in hits:
                yield hit["_source"]
            if len(hits) < SCROLL_PAGE:
                return
            body["search_after"] = hits[-1]["sort"]

    def file_chunk_texts(self, store: StoreRef, file_id: str) -> list[str]:
        if self.serverless:
            return [doc["text"] for doc in self._current_docs(store, file_id, ["text"])]
        return [doc["text"] for doc in self._file_docs(store, file_id, ["text"])]

    def export_file_chunks(self, store: StoreRef, file_id: str) -> tuple[list[ChunkToIndex], np.ndarray]:
        chunks: list[ChunkToIndex] = []
        vectors: list[Any] = []
        fields = ["chunk_index", "text", "token_count", "embedding"]
        docs = (
            self._current_docs(store, file_id, fields) if self.serverless else self._file_docs(store, file_id, fields)
        )
        for doc in docs:
            chunks.append(ChunkToIndex(doc["chunk_index"], doc["text"], doc.get("token_count") or 0))
            vectors.append(doc.get("embedding") or [0.0] * store.dimension)
        return chunks, np.array(vectors, dtype=np.float32).reshape(len(chunks), store.dimension)

    # ------------------------------------------------------------ searching
    def dense_search(self, store: StoreRef, vector: np.ndarray, k: int, filters: Filter | None) -> list[ChunkHit]:
        query = np.asarray(vector, dtype=np.float32).ravel()
        if k <= 0 or not np.all(np.isfinite(query)) or not np.any(query):
            return []  # cosine similarity is undefined for a zero query vector
        name = self.index_name(store.dimension)
        scope = self._read_scope(store, filters)
        query_value = query.tolist()
        if self.serverless:
            return self._serverless_dense_search(name, query_value, k, scope)
        header = {"index": name, "routing": store.store_id}
        exact_max = self._exact_max
        large_store = store.chunk_estimate is not None and store.chunk_estimate > exact_max
        if exact_max > 0 and not (filters is None and large_store):
            # The subset may be small: score it exactly, giving up past the bound (then it is not).
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
            index=name, body={"query": self._with_vector(scope)}, params={"routing": store.store_id}
        )["count"]
        if matching > len(hits):
            log.info("k-NN returned %d of %d matching chunks (k=%d); exact search", len(hits), matching, k)
            return self._exact_search(name, store, query_value, k, scope)
        return hits

    def _exact_search(
        self, name: str, store: StoreRef, query_value: list[float], k: int, scope: list[dict[str, Any]]
    ) -> list[ChunkHit]:
        response = self._client.search(
            index=name, body=self._exact_body(query_value, k, scope), params={"routing": store.store_id}
        )
        return self._dense_hits(response)

    def _msearch(self, searches: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """The responses of one _msearch round trip; None when the index does not exist (yet)."""
        try:
            responses = self._client.msearch(body=searches)["responses"]
        except _exceptions().NotFoundError as e:
            if _is_index_missing(e):
                return None
            raise
        for response in responses:
            if "error" in response:
                if "index_not_found_exception" in json.dumps(response["error"]):
                    return None
                raise OpenSearchIndexError(f"dense search failed: {response['error']}")
        return responses

    @staticmethod
    def _with_vector(scope: list[dict[str, Any]]) -> dict[str, Any]:
        return {"bool": {"filter": [*scope, {"exists": {"field": "embedding"}}]}}

    def _knn_body(
        self, query_value: list[float], k: int, scope: list[dict[str, Any]], candidates: int = 0
    ) -> dict[str, Any]:
        # `k` candidates per segment = ef_search for lucene; faiss uses max(ef_search, k).
        return {
            "size": k,
            "track_total_hits": False,
            "_source": self._search_source,
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

    def _exact_body(
        self, query_value: list[float], k: int, scope: list[dict[str, Any]], terminate_after: int = 0
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "size": k,
            "track_total_hits": False,
            "_source": SEARCH_SOURCE,
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

    def _dense_hits(self, response: dict[str, Any]) -> list[ChunkHit]:
        # cosinesimil scores are (1 + cos) / 2 for the knn query and the knn_score script alike.
        hits = [_hit(h, 2.0 * float(h["_score"]) - 1.0) for h in response["hits"]["hits"]]
        return _distinct(hits) if self.serverless else hits

    def text_search(self, store: StoreRef, query: str, k: int, filters: Filter | None) -> list[ChunkHit]:
        if k <= 0 or not query.strip():
            return []
        body = {
            "size": k,
            "track_total_hits": False,
            "_source": self._search_source,
            "query": {
                "bool": {
                    "must": [{"match": {"text": {"query": query, "operator": "or"}}}],
                    "filter": self._read_scope(store, filters),
                }
            },
        }
        params = {} if self.serverless else {"routing": store.store_id}
        try:
            response = self._client.search(index=self.index_name(store.dimension), body=body, params=params)
        except _exceptions().NotFoundError as e:
            if _is_index_missing(e):
                return []
            raise
        hits = [_hit(h, float(h["_score"])) for h in response["hits"]["hits"]]
        return _distinct(hits) if self.serverless else hits

    # ------------------------------------------------------- serverless mode
    # Only operations a Serverless vector collection accepts: bulk index without _id, bulk delete
    # by the service-assigned _id, _search (search_after paging, aggregations), _msearch, _count,
    # k-NN queries with a filter. No refresh, routing, scroll, *_by_query or scripts.

    def _file_scope(self, store: StoreRef, file_id: str) -> dict[str, Any]:
        return {"bool": {"filter": [*self._read_scope(store), {"term": {"file_id": file_id}}]}}

    def _search(self, name: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """A Serverless search; None when the index does not exist (yet)."""
        try:
            return self._client.search(index=name, body=body)
        except _exceptions().NotFoundError as e:
            if _is_index_missing(e):
                return None
            raise

    def _count(self, name: str, query: dict[str, Any]) -> int:
        try:
            return int(self._client.count(index=name, body={"query": query})["count"])
        except _exceptions().NotFoundError as e:
            if _is_index_missing(e):
                return 0
            raise

    def _scan(self, name: str, query: dict[str, Any], source: list[str] | bool) -> Iterator[dict[str, Any]]:
        """Every matching document (hits with _id and _source), by search_after pages over
        (chunk_key, generation) — no scroll. Documents can tie on both (a bulk request retried by
        the client after a timeout indexes its documents twice, under new ids, and only the _id
        tells them apart; sorting on _id is not assumed to be available). search_after skips all
        documents tied with the last hit of a page, so after every full page the tied group is
        fetched on its own (a handful of duplicates at most)."""
        body: dict[str, Any] = {
            "size": SCROLL_PAGE,
            "track_total_hits": False,
            "_source": source,
            "query": query,
            "sort": SCAN_SORT,
        }
        while True:
            response = self._search(name, body)
            if response is None:
                return
            hits = response["hits"]["hits"]
            yield from hits
            if len(hits) < SCROLL_PAGE:
                return
            last = hits[-1]["sort"]
            tied = {
                "size": MAX_RESULT_WINDOW,  # a tie group is a few duplicates, but never cut it short
                "track_total_hits": False,
                "_source": source,
                "query": {
                    "bool": {"filter": [query, {"term": {"chunk_key": last[0]}}, {"term": {"generation": last[1]}}]}
                },
            }
            seen = {hit["_id"] for hit in hits}
            response = self._search(name, tied)
            if response is not None:
                yield from (hit for hit in response["hits"]["hits"] if hit["_id"] not in seen)
            body["search_after"] = last

    def _next_generation(self, name: str, store: StoreRef, file_id: str) -> str:
        """A generation sorting after every visible one of the file (see _new_generation)."""
        body = {
            "size": 1,
            "track_total_hits": False,
            "_source": False,
            "query": self._file_scope(store, file_id),
            "sort": [{"generation": "desc"}],
        }
        response = self._search(name, body)
        hits = response["hits"]["hits"] if response else []
        return _new_generation(hits[0]["sort"][0] if hits else None)

    def _generation_counts(self, name: str, store: StoreRef, file_id: str, generation: str) -> tuple[int, int, int]:
        """Visible documents of the file: of `generation`, of older ones, of newer ones."""
        body = {
            "size": 0,
            "track_total_hits": False,
            "query": self._file_scope(store, file_id),
            "aggs": {
                "g": {
                    "filters": {
                        "filters": {
                            "mine": {"term": {"generation": generation}},
                            "older": {"range": {"generation": {"lt": generation}}},
                            "newer": {"range": {"generation": {"gt": generation}}},
                        }
                    }
                }
            },
        }
        response = self._search(name, body)
        if response is None:
            return 0, 0, 0
        buckets = response["aggregations"]["g"]["buckets"]
        return tuple(int(buckets[key]["doc_count"]) for key in ("mine", "older", "newer"))  # type: ignore[return-value]

    def _settle(self, name: str, store: StoreRef, file_id: str, generation: str, expected: int) -> None:
        """After a write of `expected` documents under `generation`: wait until all of them are
        visible, then delete the file's older generations (and duplicates of this one) by _id and
        wait until those are gone too, so that the file, once reported written, reads and searches
        as the new version only. Old documents are only deleted once the new ones are visible, so a
        re-indexed file never disappears from search in between.
        Should a newer generation of the file show up (a concurrent write of the same file that
        started later), this write is superseded: it deletes its own documents and returns; the
        newer one settles the file."""
        deadline = time.monotonic() + self._visibility_timeout
        deleted: set[str] = set()
        last_listing = float("-inf")
        while True:
            mine, older, newer = self._generation_counts(name, store, file_id, generation)
            if newer:
                log.info("write %s of file %s superseded by a newer one", generation, file_id)
                query = {"bool": {"filter": [self._file_scope(store, file_id), {"term": {"generation": generation}}]}}
                self._delete_ids(name, (hit["_id"] for hit in self._scan(name, query, False)))
                return
            now = time.monotonic()
            # The counts say when to look; a listing decides (a duplicate can hide a missing chunk
            # from a count). Visible stale documents may be ones already deleted and not gone from
            # search yet: unless the counts look final, list again only now and then, deleting
            # only what was not deleted before.
            if mine >= expected and ((mine == expected and not older) or now - last_listing >= 4 * self._poll_interval):
                last_listing = now
                stale, kept, lingering = [], set(), 0
                for hit in self._scan(name, self._file_scope(store, file_id), ["chunk_key", "generation"]):
                    doc = hit["_source"]
                    if doc["generation"] > generation:
                        continue  # a newer write: the next count sees it
                    if hit["_id"] in deleted:
                        lingering += 1  # deleted, not gone from search yet (never the kept copy)
                    elif doc["generation"] == generation and doc["chunk_key"] not in kept:
                        kept.add(doc["chunk_key"])
                    else:
                        stale.append(hit["_id"])  # an older version, or a duplicate of this one
                if len(kept) == expected:  # every new chunk visible: now the old ones may go
                    if not stale and not lingering:
                        return
                    self._delete_ids(name, stale)
                    deleted.update(stale)
            if now >= deadline:
                raise OpenSearchIndexError(
                    f"OpenSearch Serverless: the {expected} chunks written for file {file_id} did not all become "
                    f"searchable within {self._visibility_timeout:g}s ({mine} visible, {older} of a previous "
                    "version still visible)"
                )
            time.sleep(self._poll_interval)

    def _purge(self, name: str, query: dict[str, Any], timeout: float, what: str) -> None:
        """Delete every matching document by _id and wait until search no longer sees any. Listing
        is repeated now and then while documents remain visible (concurrent writes may add some)."""
        deadline = time.monotonic() + timeout
        deleted: set[str] = set()
        last_listing = float("-inf")
        while True:
            remaining = self._count(name, query)
            if not remaining:
                return
            now = time.monotonic()
            if now - last_listing >= 4 * self._poll_interval:
                last_listing = now
                ids = [hit["_id"] for hit in self._scan(name, query, False) if hit["_id"] not in deleted]
                self._delete_ids(name, ids)
                deleted.update(ids)
            if now >= deadline:
                raise OpenSearchIndexError(
                    f"OpenSearch Serverless: {remaining} chunks of {what} still searchable {timeout:g}s after deletion"
                )
            time.sleep(self._poll_interval)

    def _current_docs(self, store: StoreRef, file_id: str, fields: list[str] | None) -> list[dict[str, Any]]:
        """The _source of the file's chunks in chunk order, from ONE generation: the newest complete
        one (all of its chunk_count chunks visible), else — no generation complete, e.g. a write
        still becoming visible over a partly deleted old one — the newest. Duplicates of a chunk
        within a generation are dropped. Outside a write there is exactly one generation."""
        source: list[str] | bool = True if fields is None else [*fields, "chunk_index", "generation", "chunk_count"]
        name = self.index_name(store.dimension)
        generations: dict[str, dict[int, dict[str, Any]]] = {}
        sizes: dict[str, int] = {}
        for hit in self._scan(name, self._file_scope(store, file_id), source):
            doc = hit["_source"]
            generations.setdefault(doc["generation"], {}).setdefault(doc["chunk_index"], doc)
            sizes[doc["generation"]] = int(doc.get("chunk_count") or 0)
        if not generations:
            return []
        complete = [g for g, docs in generations.items() if len(docs) >= sizes[g]]
        chosen = max(complete or generations)
        return [generations[chosen][i] for i in sorted(generations[chosen])]

    def _serverless_update_attributes(self, store: StoreRef, file_id: str, attributes: dict[str, Any] | None) -> None:
        """No update_by_query or scripts: rewrite the file's current chunks (from _source, vectors
        included) with the new attributes under a new generation, then settle as a write does."""
        name = self._ensure_index(store.dimension)
        docs = self._current_docs(store, file_id, None)
        if not docs:
            return
        generation = self._next_generation(name, store, file_id)
        entries = attribute_entries(attributes)
        header = json.dumps({"index": {"_index": name}})

        def actions() -> Iterator[str]:
            for doc in docs:
                doc = {**doc, "attributes": attributes, "attrs": entries, "generation": generation}
                doc["chunk_count"] = len(docs)
                yield header + "\n" + json.dumps(doc, ensure_ascii=False) + "\n"

        self._bulk(actions(), refresh=False)
        self._settle(name, store, file_id, generation, len(docs))

    def _serverless_dense_search(
        self, name: str, query_value: list[float], k: int, scope: list[dict[str, Any]]
    ) -> list[ChunkHit]:
        """min(k, matching) hits without the knn_score script: one _msearch runs the filtered k-NN
        query and counts the matching chunks (up to MAX_KNN_K). The k-NN engines (lucene, and faiss
        with efficient filtering) search a segment exactly when its filtered documents number at
        most the query's `k`, so:
        - matching <= max(k, ef_search): the k-NN answer is already exact;
        - matching <= min(exact_search_max_chunks, SERVERLESS_EXACT_KNN_MAX): run the k-NN query
          again with k = matching: exact (bounded: a k-NN query with a huge k is costly);
        - otherwise, if the approximate filtered search came back with fewer than k hits, widen it
          to k = min(matching, MAX_KNN_K) and take the top k."""
        header = {"index": name}
        count_body = {"size": 0, "track_total_hits": MAX_KNN_K, "query": self._with_vector(scope)}
        responses = self._msearch([header, self._knn_body(query_value, k, scope), header, count_body])
        if responses is None:
            return []
        total = responses[1]["hits"]["total"]
        matching = int(total["value"] if isinstance(total, dict) else total)
        hits = self._dense_hits(responses[0])
        if matching <= max(k, self._ef_search):
            return hits[:k]
        if matching <= min(self._exact_max, SERVERLESS_EXACT_KNN_MAX):
            candidates = matching
        elif len(hits) < k:
            candidates = min(matching, MAX_KNN_K)
            log.info(
                "k-NN returned %d of %d matching chunks (k=%d); widening k to %d", len(hits), matching, k, candidates
            )
        else:
            return hits[:k]
        response = self._client.search(index=name, body=self._knn_body(query_value, k, scope, candidates))
        return self._dense_hits(response)[:k]


def _is_index_missing_item(result: dict[str, Any]) -> bool:
    error = result.get("error")
    return isinstance(error, dict) and error.get("type") == "index_not_found_exception"


def _distinct(hits: list[ChunkHit]) -> list[ChunkHit]:
    """Serverless: while a file is rewritten, two generations of a chunk can both be visible for a
    moment; keep the first (best-ranked) hit per chunk."""
    seen: set[str] = set()
    out = []
    for hit in hits:
        if hit.chunk_id not in seen:
            seen.add(hit.chunk_id)
            out.append(hit)
    return out


def _hit(hit: dict[str, Any], score: float) -> ChunkHit:
    source = hit["_source"]
    return ChunkHit(
        # Serverless ids are service-assigned and change with every write: use the stable key.
        chunk_id=source.get("chunk_key") or hit["_id"],
        file_id=source["file_id"],
        text=source["text"],
        attributes=source.get("attributes"),
        score=score,
    )
