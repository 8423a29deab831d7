"""Amazon OpenSearch Serverless mode (a vector search collection).

Only what a vector collection accepts: bulk index without `_id` (the service assigns it), bulk
delete by `_id`, `_search` (search_after paging, aggregations), `_msearch`, `_count` and k-NN
queries with a filter; no refresh, routing, scroll, `*_by_query` or scripts. So every write indexes
the file's chunks under a new `generation` and SETTLES: waits until they are all visible, then
deletes older generations by `_id`. The rules and why are in docs/opensearch-backend.md,
"Serverless mode".
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any, Iterator, Sequence, Unpack

from ..base import ChunkHit, ChunkToIndex, Filter, StoreRef
from .client import OpenSearchIndexError, is_index_missing_item, unless_index_missing
from .filters import attribute_entries
from .index import SCROLL_PAGE, Documents, IndexOptions, OpenSearchIndex, Scope
from .mapping import SEARCH_SOURCE, chunk_key, chunk_mappings

log = logging.getLogger(__name__)

MAX_KNN_K = 10_000  # the k-NN plugin's limit for `k`
MAX_RESULT_WINDOW = 10_000  # the default index.max_result_window: the largest `size`
SCAN_SORT = [{"chunk_key": "asc"}, {"generation": "asc"}]
SERVERLESS_EXACT_KNN_MAX = 2_000  # largest subset made exact by re-running k-NN


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


class ServerlessIndex(OpenSearchIndex):
    # Service-assigned ids change with every write: hits carry the stable chunk_key.
    search_source = [*SEARCH_SOURCE, "chunk_key"]

    def __init__(
        self,
        client: Any,
        *,
        visibility_timeout: float = 120,
        poll_interval: float = 0.5,
        **options: Unpack[IndexOptions],
    ) -> None:
        super().__init__(client, **options)
        self._visibility_timeout = visibility_timeout
        self._poll_interval = poll_interval

    def index_body(self, dimension: int) -> dict[str, Any]:
        # Serverless manages shards, replicas and algo settings (and rejects them), and has no
        # custom routing; documents get service-assigned ids, so they carry their own key and the
        # generation (write) that produced them.
        mappings = chunk_mappings(dimension, self.engine, self._m, self._ef_construction, self._ef_search)
        mappings["properties"].update(
            chunk_key={"type": "keyword"},  # f"{store_id}:{file_id}:{chunk_index}"
            generation={"type": "keyword"},
            chunk_count={"type": "integer", "index": False},  # chunks in the generation
        )
        return {"settings": {"index": {"knn": True}}, "mappings": mappings}

    def _request_params(self, store: StoreRef) -> dict[str, Any]:
        return {}  # no routing: searches filter by store

    def _file_scope(self, store: StoreRef, file_id: str) -> dict[str, Any]:
        return {"bool": {"filter": [*self._read_scope(store), {"term": {"file_id": file_id}}]}}

    def _one_per_chunk(self, hits: list[ChunkHit]) -> list[ChunkHit]:
        """While a file is rewritten, two generations of a chunk can both be visible for a moment;
        keep the first (best-ranked) hit per chunk."""
        seen: set[str] = set()
        out: list[ChunkHit] = []
        for hit in hits:
            if hit.chunk_id not in seen:
                seen.add(hit.chunk_id)
                out.append(hit)
        return out

    # -------------------------------------------------------------- writing
    def _write_file(
        self, name: str, store: StoreRef, file_id: str, chunks: Sequence[ChunkToIndex], documents: Documents
    ) -> None:
        generation = self._next_generation(name, store, file_id)

        def actions() -> Iterator[str]:
            for chunk, doc in documents:
                doc["chunk_key"] = chunk_key(store.store_id, file_id, chunk.chunk_index)
                doc["generation"] = generation
                doc["chunk_count"] = len(chunks)
                yield self._action({"index": {"_index": name}}, doc)  # Serverless assigns the _id

        self._bulk(actions(), refresh=False)
        self._settle(name, store, file_id, generation, len(chunks))

    def _retry_failed_item(self, result: dict[str, Any]) -> bool:
        # A just-created Serverless index may briefly be unknown to the ingest path.
        return is_index_missing_item(result)

    def update_attributes(self, store: StoreRef, file_id: str, attributes: dict[str, Any] | None) -> None:
        """No update_by_query or scripts: rewrite the file's current chunks (from _source, vectors
        included) with the new attributes under a new generation, then settle as a write does."""
        name = self._ensure_index(store.dimension)
        docs = self._current_docs(store, file_id, None)
        if not docs:
            return
        generation = self._next_generation(name, store, file_id)
        entries = attribute_entries(attributes)
        header = {"index": {"_index": name}}

        def actions() -> Iterator[str]:
            for doc in docs:
                doc = {**doc, "attributes": attributes, "attrs": entries, "generation": generation}
                doc["chunk_count"] = len(docs)
                yield self._action(header, doc)

        self._bulk(actions(), refresh=False)
        self._settle(name, store, file_id, generation, len(docs))

    def delete_file_chunks(self, store: StoreRef, file_id: str) -> None:
        query = self._file_query(store, file_id)
        self._purge(self.index_name(store.dimension), query, self._visibility_timeout, f"file {file_id}")

    def delete_store(self, store: StoreRef) -> None:
        query = {"bool": {"filter": self._store_scope(store)}}
        timeout = max(self._delete_timeout, self._visibility_timeout)
        self._purge(self.index_name(store.dimension), query, timeout, f"store {store.store_id}")

    def _delete_ids(self, name: str, ids: Iterator[str] | list[str]) -> None:
        self._bulk((json.dumps({"delete": {"_index": name, "_id": i}}) + "\n" for i in ids), refresh=False)

    def _count(self, name: str, query: dict[str, Any]) -> int:
        return int(unless_index_missing(lambda: self._client.count(index=name, body={"query": query})["count"], 0))

    def _scan(self, name: str, query: dict[str, Any], source: list[str] | bool) -> Iterator[dict[str, Any]]:
        """Every matching document (hits with _id and _source), by search_after pages over
        (chunk_key, generation) — no scroll. Documents can tie on both (a bulk request retried by
        the client after a timeout indexes its documents twice, under new ids, and only the _id
        tells them apart; sorting on _id is not assumed to be available). search_after skips all
        documents tied with the last hit of a page, so after every full page the tied group is
        fetched on its own (a handful of duplicates at most)."""

        def tied_with_last(hits: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
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

        body = {"_source": source, "query": query, "sort": SCAN_SORT}
        return self._paged(name, body, page=SCROLL_PAGE, after_full_page=tied_with_last)

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
        return int(buckets["mine"]["doc_count"]), int(buckets["older"]["doc_count"]), int(buckets["newer"]["doc_count"])

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
                stale: list[str] = []
                kept: set[str] = set()
                lingering = 0
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

    # -------------------------------------------------------------- reading
    def _file_documents(self, store: StoreRef, file_id: str, fields: list[str]) -> list[dict[str, Any]]:
        return self._current_docs(store, file_id, fields)

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

    # ------------------------------------------------------------ searching
    def _dense_search(
        self, name: str, store: StoreRef, query_value: list[float], k: int, filters: Filter | None, scope: Scope
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
