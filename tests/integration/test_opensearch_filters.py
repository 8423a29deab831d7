"""The OpenSearch k-NN backend against a real OpenSearch (OPENSEARCH_URL).

- The attribute-filter table (the shared one of test_backend_contract.py, plus more corners whose
  answers are checked against PostgreSQL too) evaluated on real documents, by dense and text search.
- Filtered dense search returns exactly min(k, matching), exact for small subsets, on both the
  exact-bound path and the pure k-NN path, and falls back to exact search when k-NN comes back short.

Uses the session's OpenSearch: OPENSEARCH_URL, or one started by tests/opensearch_fixture.py.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import replace

import numpy as np
import pytest
from test_backend_contract import CASES, ROWS

from vector_store_api.models.search import ComparisonFilter, SearchRequest
from vector_store_api.settings import Settings
from vector_store_api.vector_index.base import ChunkToIndex, StoreRef
from vector_store_api.vector_index.opensearch.client import build_client
from vector_store_api.vector_index.opensearch.cluster import ClusterIndex

DIM = 8
# The shared operator table, here run one case per test against dense and text search.

# More corners; their expected sets are checked against PostgreSQL too (test_extra_cases_match_pgvector).
EXTRA_CASES = [
    ({"type": "eq", "key": "team') OR true --", "value": "x"}, set()),
    ({"type": "ne", "key": "a\"b'c", "value": "x"}, set(ROWS)),
    ({"type": "in", "key": "team", "value": []}, set()),
    ({"type": "nin", "key": "team", "value": []}, set(ROWS)),
    ({"type": "in", "key": "score", "value": [0.5, 7]}, {"a"}),
    ({"type": "in", "key": "year", "value": [2024.0]}, {"a"}),
    ({"type": "nin", "key": "year", "value": [2024]}, {"b", "c", "d", "e"}),
    ({"type": "eq", "key": "score", "value": 1.5}, {"b"}),
    ({"type": "gte", "key": "public", "value": False}, {"a", "b"}),
    ({"type": "gt", "key": "public", "value": False}, {"a"}),
    ({"type": "lte", "key": "public", "value": False}, {"b"}),
    ({"type": "lt", "key": "team", "value": "hr"}, {"b"}),
    ({"type": "lte", "key": "year", "value": "2024"}, {"c"}),  # string range: only string years
    ({"type": "gt", "key": "year", "value": "1"}, {"c"}),
    ({"type": "ne", "key": "year", "value": 2024}, {"b", "c", "d", "e"}),
    ({"type": "eq", "key": "public", "value": 1}, set()),  # a number never equals a boolean
    ({"type": "eq", "key": "team", "value": True}, set()),
    (
        {
            "type": "and",
            "filters": [{"type": "ne", "key": "team", "value": "hr"}, {"type": "ne", "key": "team", "value": "eng"}],
        },
        {"d", "e"},
    ),
    (
        {
            "type": "or",
            "filters": [{"type": "eq", "key": "team", "value": "eng"}, {"type": "gt", "key": "score", "value": 0}],
        },
        {"a", "b"},
    ),
]


def parse(raw: dict):
    return SearchRequest.model_validate({"query": "q", "filters": raw}).filters


def unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def os_client(opensearch_url):
    """The session's OpenSearch (tests/opensearch_fixture.py: OPENSEARCH_URL, or one started for the session)."""
    return build_client(Settings(opensearch_url=opensearch_url))


@pytest.fixture(scope="module")
def os_prefix(os_client):
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    yield prefix
    os_client.indices.delete(index=f"{prefix}-*", params={"ignore_unavailable": "true"})


@pytest.fixture(scope="module")
def os_index(os_client, os_prefix) -> ClusterIndex:
    engine = os.environ.get("OPENSEARCH_ENGINE", "lucene")
    return ClusterIndex(os_client, engine=engine, index_prefix=os_prefix, hnsw_ef_search=40)


def new_store(index: ClusterIndex) -> StoreRef:
    store = StoreRef(f"tenant_{uuid.uuid4().hex[:8]}", f"vs_{uuid.uuid4().hex}", DIM, "opensearch")
    index.prepare_store(store)
    return store


def add_file(index: ClusterIndex, store: StoreRef, vectors: np.ndarray, attributes=None, file_id=None) -> str:
    file_id = file_id or f"file-{uuid.uuid4().hex}"
    chunks = [ChunkToIndex(i, f"chunk {i} of {file_id}", 3) for i in range(len(vectors))]
    assert index.replace_file_chunks(store, file_id, attributes, chunks, vectors)
    return file_id


@pytest.fixture(scope="module")
def rows_store(os_index) -> StoreRef:
    """One store holding one single-chunk file per row of ROWS (file id = row name)."""
    store = new_store(os_index)
    rng = np.random.default_rng(0)
    for name, attributes in ROWS.items():
        add_file(os_index, store, unit_rows(rng, 1), attributes, file_id=name)
    return store


def matching(index: ClusterIndex, store: StoreRef, raw: dict, how: str) -> set[str]:
    node = parse(raw)
    if how == "dense":
        hits = index.dense_search(store, np.ones(DIM, dtype=np.float32), 50, node)
    else:
        hits = index.text_search(store, "chunk", 50, node)
    return {h.file_id for h in hits}


@pytest.mark.parametrize("how", ["dense", "text"])
@pytest.mark.parametrize(("raw", "expected"), CASES + EXTRA_CASES)
def test_operator_semantics(os_index, rows_store, raw, expected, how):
    assert matching(os_index, rows_store, raw, how) == expected


def test_attributes_come_back_unchanged(os_index, rows_store):
    hits = os_index.dense_search(rows_store, np.ones(DIM, dtype=np.float32), 10, None)
    assert {h.file_id: h.attributes for h in hits} == ROWS


def test_extra_cases_match_pgvector(database):
    """The extra corners have the same answers on PostgreSQL, i.e. the semantics are the same."""
    from vector_store_api.vector_index.pgvector.filters import filter_sql

    values = ", ".join(["(%s, %s::jsonb)"] * len(ROWS))
    args: list = []
    for name, attrs in ROWS.items():
        args += [name, None if attrs is None else json.dumps(attrs)]
    for raw, expected in EXTRA_CASES:
        sql, params = filter_sql(parse(raw))
        with database.connection() as conn:
            rows = conn.execute(
                f"SELECT name FROM (VALUES {values}) AS t(name, attributes) WHERE {sql}", [*args, *params]
            ).fetchall()
        assert {r["name"] for r in rows} == expected, raw


# ------------------------------------------------------- filtered dense search returns min(k, matching)
@pytest.fixture(scope="module")
def crowded_store(os_index):
    """2000 bulk chunks, 150 'rare' ones and 7 'few' ones in one store; also every chunk's vector by text."""
    rng = np.random.default_rng(3)
    store = new_store(os_index)
    by_text: dict[str, np.ndarray] = {}

    def add(vectors, attributes):
        file_id = add_file(os_index, store, vectors, attributes)
        by_text.update({f"chunk {i} of {file_id}": v for i, v in enumerate(vectors)})
        return file_id

    for _ in range(4):
        add(unit_rows(rng, 500), {"team": "bulk", "n": 1})
    rare_vectors = unit_rows(rng, 150)
    rare = add(rare_vectors, {"team": "rare"})
    few = add(unit_rows(rng, 7), {"n": 2})
    return store, rare, rare_vectors, few, by_text


@pytest.fixture(params=["exact-bound", "knn-only"])
def searcher(request, os_index) -> ClusterIndex:
    """The index as configured, and with the exact-scan bound off (the k-NN query answers alone)."""
    if request.param == "exact-bound":
        return os_index
    return ClusterIndex(
        os_index._client,
        engine=os_index.engine,
        index_prefix=os_index._prefix,
        hnsw_ef_search=40,
        exact_search_max_chunks=0,
    )


def brute_force(vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    return list(np.argsort(-(vectors @ query), kind="stable")[:k])


def test_filter_matching_fewer_than_k_returns_all_of_them(searcher, crowded_store):
    store, _, _, few, _ = crowded_store
    query = unit_rows(np.random.default_rng(4), 1)[0]
    hits = searcher.dense_search(store, query, 50, ComparisonFilter(type="gte", key="n", value=2))
    assert len(hits) == 7 and {h.file_id for h in hits} == {few}


def test_selective_filter_returns_exactly_k_equal_to_brute_force(searcher, crowded_store):
    store, rare, rare_vectors, _, _ = crowded_store
    for query in unit_rows(np.random.default_rng(5), 5):
        hits = searcher.dense_search(store, query, 50, ComparisonFilter(type="eq", key="team", value="rare"))
        assert len(hits) == 50
        assert {h.file_id for h in hits} == {rare}
        expected = brute_force(rare_vectors, query, 50)
        assert [h.text for h in hits] == [f"chunk {i} of {rare}" for i in expected]
        assert [h.score for h in hits] == pytest.approx([float(rare_vectors[i] @ query) for i in expected], abs=1e-5)


def test_unfiltered_knn_search_in_a_large_store_has_high_recall(searcher, crowded_store):
    store, _, _, _, by_text = crowded_store
    texts = list(by_text)
    matrix = np.stack([by_text[t] for t in texts])
    recalls = []
    for query in unit_rows(np.random.default_rng(6), 10):
        hits = searcher.dense_search(store, query, 10, None)
        assert len(hits) == 10
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert all(h.score == pytest.approx(float(by_text[h.text] @ query), abs=1e-5) for h in hits)
        exact = {texts[i] for i in brute_force(matrix, query, 10)}
        recalls.append(len(exact & {h.text for h in hits}) / 10)
    assert np.mean(recalls) >= 0.9


class ShortKnnClient:
    """Wraps the client and drops half of every k-NN response: exercises the exact fallback."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def msearch(self, body, **kwargs):
        result = self._client.msearch(body=body, **kwargs)
        knn = result["responses"][0]["hits"]["hits"]
        del knn[len(knn) // 2 :]
        return result


def test_short_approximate_results_fall_back_to_an_exact_search(os_index, crowded_store):
    store, rare, rare_vectors, few, _ = crowded_store
    short = ClusterIndex(
        ShortKnnClient(os_index._client),
        engine=os_index.engine,
        index_prefix=os_index._prefix,
        exact_search_max_chunks=0,
    )
    query = unit_rows(np.random.default_rng(7), 1)[0]
    hits = short.dense_search(store, query, 50, ComparisonFilter(type="eq", key="team", value="rare"))
    assert [h.text for h in hits] == [f"chunk {i} of {rare}" for i in brute_force(rare_vectors, query, 50)]
    assert len(short.dense_search(store, query, 50, ComparisonFilter(type="eq", key="n", value=2))) == 7


class RequestLog:
    """Wraps the client and records the bodies of the search requests it sends."""

    def __init__(self, client):
        self._client = client
        self.searches: list[dict] = []

    def __getattr__(self, name):
        return getattr(self._client, name)

    def msearch(self, body, **kwargs):
        self.searches += body[1::2]
        return self._client.msearch(body=body, **kwargs)

    def search(self, index=None, body=None, **kwargs):
        self.searches.append(body)
        return self._client.search(index=index, body=body, **kwargs)

    def count(self, index=None, body=None, **kwargs):
        self.searches.append(body)
        return self._client.count(index=index, body=body, **kwargs)


def test_a_filter_on_a_large_store_is_scored_exactly_in_one_request_up_to_the_bound(os_index, crowded_store):
    """Exact first (bounded by exact_search_max_chunks), k-NN only when the subset is larger."""
    store, rare, rare_vectors, _, _ = crowded_store
    log = RequestLog(os_index._client)
    searcher = ClusterIndex(
        log, engine=os_index.engine, index_prefix=os_index._prefix, hnsw_ef_search=40, exact_search_max_chunks=1000
    )
    large = replace(store, chunk_estimate=2157)
    query = unit_rows(np.random.default_rng(8), 1)[0]

    hits = searcher.dense_search(large, query, 50, ComparisonFilter(type="eq", key="team", value="rare"))  # 150 match
    assert [h.text for h in hits] == [f"chunk {i} of {rare}" for i in brute_force(rare_vectors, query, 50)]
    assert [list(body["query"]) for body in log.searches] == [["script_score"]]

    log.searches.clear()
    hits = searcher.dense_search(large, query, 10, ComparisonFilter(type="eq", key="team", value="bulk"))  # 2000 match
    assert len(hits) == 10 and len({h.file_id for h in hits} & {rare}) == 0
    assert [list(body["query"]) for body in log.searches] == [["script_score"], ["knn"]]
    assert log.searches[0]["terminate_after"] == 1000

    log.searches.clear()
    searcher.dense_search(large, query, 10, None)  # unfiltered, above the bound: k-NN alone
    assert [list(body["query"]) for body in log.searches] == [["knn"]]

def test_scores_are_cosine_similarities(os_index):
    store = new_store(os_index)
    vectors = np.eye(DIM, dtype=np.float32)[:3]
    add_file(os_index, store, vectors)
    hits = os_index.dense_search(store, vectors[0], 3, None)
    assert hits[0].score == pytest.approx(1.0, abs=1e-6)
    assert hits[1].score == pytest.approx(0.0, abs=1e-6)
    hits = os_index.dense_search(store, vectors[0] + vectors[1], 1, None)
    assert hits[0].score == pytest.approx(2**-0.5, abs=1e-6)
