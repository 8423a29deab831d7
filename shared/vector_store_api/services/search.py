"""Hybrid search over one vector store."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, ParamSpec, TypeVar

from ..catalog.ports import SearchCatalog
from ..embeddings.base import Embedder
from ..ids import now
from ..models.search import MAX_NUM_RESULTS, SearchRequest, SearchResult, SearchResultsPage
from ..models.vector_stores import FileContent
from ..request_budget import checkpoint
from ..vector_index.base import VectorIndexes
from .fusion import best_similarity, reciprocal_rank_fusion, relative_to_best
from .query_rewrite import QueryRewriter
from .vector_stores import VectorStoreService

EmbedderFor = Callable[[str, str, int], Embedder]
P = ParamSpec("P")
R = TypeVar("R")

# Every list is fetched at one depth whatever max_num_results is, so the first n hits of a search
# for k > n are the hits of the search for n (an ANN index, e.g. OpenSearch's lucene HNSW, explores
# more with a larger k). Fusion gains nothing from deeper lists: bench quality, nDCG@10 by depth,
# is flat from 20 on (NFCorpus: 0.3457 at 20, 0.3459 at 50, 0.3443 at 100).
LIST_DEPTH = MAX_NUM_RESULTS
# Threads running hybrid searches' text queries beside their dense queries (I/O waits, mostly).
TEXT_SEARCH_THREADS = 4


class SearchService:
    def __init__(
        self,
        catalog: SearchCatalog,
        indexes: VectorIndexes,
        stores: VectorStoreService,
        embedder_for: EmbedderFor,
        rewriter: QueryRewriter,
    ):
        self._catalog = catalog
        self._indexes = indexes
        self._stores = stores
        self._embedder_for = embedder_for
        self._rewriter = rewriter
        self._text_searches = ThreadPoolExecutor(TEXT_SEARCH_THREADS, thread_name_prefix="text-search")

    def close(self) -> None:
        self._text_searches.shutdown(wait=False, cancel_futures=True)

    def _rewritten(self, query: str) -> str:
        checkpoint()
        return self._rewriter.rewrite(query)

    @staticmethod
    def _checked(stage: Callable[P, R]) -> Callable[P, R]:
        """`stage`, run only while the request may go on (each embedding and backend call is one)."""

        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            checkpoint()
            return stage(*args, **kwargs)

        return run

    def search(self, tenant_id: str, store_id: str, request: SearchRequest) -> SearchResultsPage:
        config = self._stores.store_config(tenant_id, store_id, usable=True)
        queries = request.queries()
        if request.rewrite_query:
            queries = [self._rewritten(q) for q in queries]
        store = config.ref
        index = self._indexes.for_store(store)
        mode, ranking, k = request.mode(), request.ranking_options, request.max_num_results
        # A hybrid search's two queries are independent: the text one runs beside embedding and the dense
        # one, in a copy of this request's context (its time budget stops it too).
        texts = [
            self._text_searches.submit(
                contextvars.copy_context().run, self._checked(index.text_search), store, query, LIST_DEPTH, request.filters
            )
            for query in (queries if mode == "hybrid" else [])
        ]
        try:
            embedder = self._embedder_for(config.embedding_provider, config.embedding_model, config.embedding_dimension)
            # One query at a time, so a stopped request (timeout, client gone) stops between them; a batch
            # would embed faster, but lists are short (at most 10) and most searches have one query.
            vectors = [self._checked(embedder.embed)([query])[0] for query in queries] if mode != "keyword" else []
            if mode == "keyword":
                scored = relative_to_best([self._checked(index.text_search)(store, q, LIST_DEPTH, request.filters) for q in queries])
            elif mode == "vector":
                scored = best_similarity([self._checked(index.dense_search)(store, v, LIST_DEPTH, request.filters) for v in vectors])
            else:
                ranked_lists, weights = [], []
                weight = ranking.hybrid_search if ranking else None
                for i, vector in enumerate(vectors):
                    ranked_lists += [self._checked(index.dense_search)(store, vector, LIST_DEPTH, request.filters), texts[i].result()]
                    weights += [weight.embedding_weight, weight.text_weight] if weight else [1.0, 1.0]
                scored = reciprocal_rank_fusion(ranked_lists, weights)
        finally:
            for text in texts:
                text.cancel()  # those not started yet, if this search was stopped
        checkpoint()
        threshold = ranking.score_threshold if ranking else 0.0
        top = [(hit, score) for hit, score in scored if score >= threshold][:k]

        filenames = self._catalog.searchable_filenames(tenant_id, store_id, {hit.file_id for hit, _ in top})
        current = now()
        if config.last_active_at < current:  # at most one write per store and second
            self._catalog.touch_store(tenant_id, store_id, current)
        return SearchResultsPage(
            search_query=queries,
            data=[
                SearchResult(
                    file_id=hit.file_id,
                    filename=filenames.get(hit.file_id, ""),
                    score=round(score, 6),
                    attributes=hit.attributes,
                    content=[FileContent(text=hit.text)],
                )
                for hit, score in top
                if hit.file_id in filenames  # only files `completed` in the store, at the end of the search
            ],
        )
