"""Hybrid search over one vector store."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from ..backends.base import VectorIndex
from ..backends.postgres.catalog import Catalog
from ..embeddings.base import Embedder
from ..ids import now
from ..models.search import SearchRequest, SearchResult, SearchResultsPage
from ..models.vector_stores import FileContent
from .fusion import best_similarity, reciprocal_rank_fusion
from .query_rewrite import QueryRewriter
from .vector_stores import VectorStoreService

EmbedderFor = Callable[[str, str, int], Embedder]

# Candidates fetched from each list before fusion, relative to the results wanted.
CANDIDATE_FACTOR = 4
MIN_CANDIDATES = 40
# Threads running hybrid searches' text queries beside their dense queries (I/O waits, mostly).
TEXT_SEARCH_THREADS = 4


class SearchService:
    def __init__(
        self,
        catalog: Catalog,
        index: VectorIndex,
        stores: VectorStoreService,
        embedder_for: EmbedderFor,
        rewriter: QueryRewriter,
    ):
        self._catalog = catalog
        self._index = index
        self._stores = stores
        self._embedder_for = embedder_for
        self._rewriter = rewriter
        self._text_searches = ThreadPoolExecutor(TEXT_SEARCH_THREADS, thread_name_prefix="text-search")

    def close(self) -> None:
        self._text_searches.shutdown(wait=False, cancel_futures=True)

    def search(self, tenant_id: str, store_id: str, request: SearchRequest) -> SearchResultsPage:
        config = self._stores.store_config(tenant_id, store_id, usable=True)
        queries = request.queries()
        if request.rewrite_query:
            queries = [self._rewriter.rewrite(q) for q in queries]
        store = config.ref
        embedder = self._embedder_for(config.embedding_provider, config.embedding_model, config.embedding_dimension)
        vectors = embedder.embed(queries)
        ranking = request.ranking_options
        hybrid = ranking is None or ranking.ranker != "none"
        k = request.max_num_results
        # Fusion re-ranks, so it needs a deeper pool; without it each list's top k is enough.
        candidates = max(k * CANDIDATE_FACTOR, MIN_CANDIDATES) if hybrid else k

        # A hybrid search's two queries are independent: the text one runs beside the dense one.
        texts = [
            self._text_searches.submit(self._index.text_search, store, query, candidates, request.filters)
            for query in (queries if hybrid else [])
        ]
        ranked_lists = []
        for i, vector in enumerate(vectors):
            ranked_lists.append(self._index.dense_search(store, vector, candidates, request.filters))
            if hybrid:
                ranked_lists.append(texts[i].result())
        scored = reciprocal_rank_fusion(ranked_lists) if hybrid else best_similarity(ranked_lists)
        threshold = ranking.score_threshold if ranking else 0.0
        top = [(hit, score) for hit, score in scored if score >= threshold][:k]

        filenames = self._catalog.filenames(tenant_id, {hit.file_id for hit, _ in top})
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
                if hit.file_id in filenames  # a file deleted mid-search is not reported
            ],
        )
