"""The VectorIndex contract, run against every backend: real pgvector and real OpenSearch.

Only the protocol is used here, so both backends must behave the same: exact-k results, cosine
scores, full-text matching, every filter operator, attribute updates, deletes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import numpy as np
import pytest

from vector_store_api.catalog import Catalog
from vector_store_api.catalog.records import NewAttachment
from vector_store_api.ids import FILE_PREFIX, VECTOR_STORE_PREFIX, new_id, now
from vector_store_api.models.common import StaticChunking
from vector_store_api.models.files import FileObject
from vector_store_api.models.search import SearchRequest
from vector_store_api.vector_index.base import ChunkToIndex, StoreRef

DIM = 16
CHUNKING = StaticChunking(max_chunk_size_tokens=800, chunk_overlap_tokens=400)
BACKENDS = ["pgvector", "opensearch"]


def unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def brute_force(vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    return list(np.argsort(-(vectors @ query), kind="stable")[:k])


def make_index(provider: str, database, request):
    if provider == "pgvector":
        from vector_store_api.vector_index.pgvector.index import PgVectorIndex

        # A low exact-scan bound so a few thousand rows exercise the approximate path too.
        return PgVectorIndex(database, hnsw_ef_search=40, exact_search_max_chunks=100)
    from vector_store_api.settings import Settings
    from vector_store_api.vector_index.opensearch.client import build_client
    from vector_store_api.vector_index.opensearch.cluster import ClusterIndex

    url = request.getfixturevalue("opensearch_url")
    engine = getattr(request, "param_engine", "lucene")
    settings = Settings(opensearch_url=url, opensearch_verify_certs=False)
    return ClusterIndex(
        build_client(settings), engine=engine, index_prefix=f"contract-{uuid.uuid4().hex[:8]}", hnsw_ef_search=40
    )


class Backend:
    """Stores and attached files in the catalog; chunks in the backend under test."""

    def __init__(self, provider: str, catalog: Catalog, index):
        self.provider = provider
        self.catalog = catalog
        self.index = index
        self.tenant = f"tenant_{uuid.uuid4().hex[:12]}"

    def store(self) -> StoreRef:
        store_id = new_id(VECTOR_STORE_PREFIX)
        self.catalog.insert_store(
            self.tenant, store_id, now(), "", None, None, None, "hash", "hash-v1", DIM, self.provider
        )
        ref = StoreRef(self.tenant, store_id, DIM, self.provider)
        self.index.prepare_store(ref)
        return ref

    def file(self, store: StoreRef, vectors: np.ndarray, attributes: dict | None = None, texts=None) -> str:
        file_id = new_id(FILE_PREFIX)
        self.catalog.insert_file(
            self.tenant,
            FileObject(id=file_id, bytes=1, created_at=now(), filename=f"{file_id}.txt", purpose="assistants"),
            "k",
        )
        self.catalog.attach(self.tenant, store.store_id, [NewAttachment(file_id, attributes, CHUNKING)], now())
        texts = texts or [f"chunk {i} of {file_id}" for i in range(len(vectors))]
        chunks = [ChunkToIndex(i, text, 3) for i, text in enumerate(texts)]
        assert self.index.replace_file_chunks(store, file_id, attributes, chunks, vectors)
        assert self.catalog.finish_attachment(self.tenant, store.store_id, file_id, "completed", 1, None)
        return file_id


@pytest.fixture(params=BACKENDS)
def backend(request, database) -> Backend:
    return Backend(request.param, Catalog(database), make_index(request.param, database, request))


def test_small_store_beside_a_large_one_gets_all_its_chunks(backend):
    rng = np.random.default_rng(1)
    large = backend.store()
    for _ in range(3):
        backend.file(large, unit_rows(rng, 700))
    small = backend.store()
    small_file = backend.file(small, unit_rows(rng, 3))

    hits = backend.index.dense_search(small, unit_rows(rng, 1)[0], 10, None)

    assert len(hits) == 3
    assert {h.file_id for h in hits} == {small_file}


@pytest.mark.parametrize("estimate", [None, 0, 3, 10**9])
def test_the_chunk_estimate_picks_a_path_but_never_changes_the_answer(backend, estimate):
    """Searches get the catalog's chunk count as an estimate; stale or wrong, results stay right."""
    rng = np.random.default_rng(4)
    large = backend.store()
    large_vectors = unit_rows(rng, 1500)
    large_file = backend.file(large, large_vectors)
    small = backend.store()
    small_file = backend.file(small, unit_rows(rng, 3))
    query = unit_rows(rng, 1)[0]

    small_hits = backend.index.dense_search(replace(small, chunk_estimate=estimate), query, 10, None)
    assert len(small_hits) == 3 and {h.file_id for h in small_hits} == {small_file}
    large_hits = backend.index.dense_search(replace(large, chunk_estimate=estimate), query, 10, None)
    assert len(large_hits) == 10 and [h.score for h in large_hits] == sorted((h.score for h in large_hits), reverse=True)
    exact = {f"chunk {i} of {large_file}" for i in brute_force(large_vectors, query, 10)}
    assert len(exact & {h.text for h in large_hits}) >= 7


def test_large_store_results_match_brute_force_closely(backend):
    rng = np.random.default_rng(2)
    store = backend.store()
    vectors = unit_rows(rng, 2000)
    file_id = backend.file(store, vectors)
    recalls = []
    for query in unit_rows(rng, 20):
        hits = backend.index.dense_search(store, query, 10, None)
        assert len(hits) == 10
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        exact = {f"chunk {i} of {file_id}" for i in brute_force(vectors, query, 10)}
        recalls.append(len(exact & {h.text for h in hits}) / 10)
    assert np.mean(recalls) >= 0.9


def test_selective_filter_in_a_large_store_returns_exactly_k_exact_hits(backend):
    rng = np.random.default_rng(3)
    store = backend.store()
    for _ in range(4):
        backend.file(store, unit_rows(rng, 500), {"team": "bulk"})
    rare_vectors = unit_rows(rng, 150)
    rare = backend.file(store, rare_vectors, {"team": "rare"})
    query = unit_rows(rng, 1)[0]
    only_rare = SearchRequest.model_validate({"query": "q", "filters": {"type": "eq", "key": "team", "value": "rare"}}).filters

    hits = backend.index.dense_search(store, query, 50, only_rare)

    assert len(hits) == 50
    assert {h.file_id for h in hits} == {rare}
    expected = [f"chunk {i} of {rare}" for i in brute_force(rare_vectors, query, 50)]
    assert len(set(expected) & {h.text for h in hits}) >= 48  # exact or nearly so


def test_filter_matching_fewer_than_k_returns_all_of_them(backend):
    rng = np.random.default_rng(4)
    store = backend.store()
    backend.file(store, unit_rows(rng, 1500), {"n": 1})
    few = backend.file(store, unit_rows(rng, 7), {"n": 2})
    at_least_2 = SearchRequest.model_validate({"query": "q", "filters": {"type": "gte", "key": "n", "value": 2}}).filters

    hits = backend.index.dense_search(store, unit_rows(rng, 1)[0], 50, at_least_2)

    assert len(hits) == 7 and {h.file_id for h in hits} == {few}


def test_scores_are_cosine_similarities(backend):
    store = backend.store()
    vectors = np.eye(DIM, dtype=np.float32)[:3]
    backend.file(store, vectors)
    tilted = (vectors[0] + vectors[1]) / np.sqrt(2)
    hits = backend.index.dense_search(store, tilted.astype(np.float32), 3, None)
    assert [round(h.score, 4) for h in hits] == pytest.approx([0.7071, 0.7071, 0.0], abs=2e-3)


def test_text_search_matches_any_word_and_respects_store_and_filters(backend):
    rng = np.random.default_rng(5)
    store, other = backend.store(), backend.store()
    a = backend.file(store, unit_rows(rng, 2), {"k": "a"}, texts=["parental leave policy", "quarterly revenue"])
    b = backend.file(store, unit_rows(rng, 1), {"k": "b"}, texts=["leave requests go to HR"])
    backend.file(other, unit_rows(rng, 1), None, texts=["parental leave elsewhere"])

    hits = backend.index.text_search(store, "Parental leave? (policy)", 10, None)
    assert hits[0].file_id == a and hits[0].text == "parental leave policy"  # matches the most words
    assert {h.text for h in hits} == {"parental leave policy", "leave requests go to HR"}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    only_b = SearchRequest.model_validate({"query": "q", "filters": {"type": "eq", "key": "k", "value": "b"}}).filters
    assert [h.file_id for h in backend.index.text_search(store, "leave", 10, only_b)] == [b]
    assert backend.index.text_search(store, "policies", 10, None)[0].file_id == a  # stemming
    assert backend.index.text_search(store, "the of and", 10, None) == []  # only stop words
    assert backend.index.text_search(store, "'; DROP TABLE chunks; --", 10, None) == []


def test_replace_is_idempotent_and_updates_and_deletes_follow(backend):
    rng = np.random.default_rng(6)
    store = backend.store()
    file_id = backend.file(store, unit_rows(rng, 5))
    chunks = [ChunkToIndex(i, f"again {i}", 2) for i in range(3)]
    assert backend.index.replace_file_chunks(store, file_id, None, chunks, unit_rows(rng, 3))
    assert backend.index.replace_file_chunks(store, file_id, None, chunks, unit_rows(rng, 3))
    assert backend.index.file_chunk_texts(store, file_id) == ["again 0", "again 1", "again 2"]

    backend.index.update_attributes(store, file_id, {"x": True})
    flagged = SearchRequest.model_validate({"query": "q", "filters": {"type": "eq", "key": "x", "value": True}}).filters
    hits = backend.index.dense_search(store, unit_rows(rng, 1)[0], 10, flagged)
    assert len(hits) == 3 and all(h.attributes == {"x": True} for h in hits)

    backend.index.delete_file_chunks(store, file_id)
    assert backend.index.file_chunk_texts(store, file_id) == []
    assert backend.index.dense_search(store, unit_rows(rng, 1)[0], 10, None) == []


def test_deleting_a_store_removes_every_chunk_and_nothing_else(backend):
    rng = np.random.default_rng(7)
    store, keep = backend.store(), backend.store()
    files = [backend.file(store, unit_rows(rng, 4)) for _ in range(3)]
    kept = backend.file(keep, unit_rows(rng, 2))
    backend.index.delete_store(store)
    assert all(backend.index.file_chunk_texts(store, f) == [] for f in files)
    assert backend.index.dense_search(store, unit_rows(rng, 1)[0], 10, None) == []
    assert len(backend.index.file_chunk_texts(keep, kept)) == 2


def test_file_chunk_texts_keeps_order_for_large_files(backend):
    rng = np.random.default_rng(8)
    store = backend.store()
    texts = [f"part {i:05d}" for i in range(2500)]
    file_id = backend.file(store, unit_rows(rng, 2500), texts=texts)
    assert backend.index.file_chunk_texts(store, file_id) == texts


# ------------------------------------------------------------------ filter operators on every backend
ROWS = {
    "a": {"team": "hr", "year": 2024, "score": 0.5, "public": True},
    "b": {"team": "eng", "year": 2019, "score": 1.5, "public": False},
    "c": {"team": "hr", "year": "2024"},  # year as a string: type mismatches never match
    "d": {},  # every key missing
    "e": None,  # no attributes at all
}
CASES = [
    ({"type": "eq", "key": "team", "value": "hr"}, {"a", "c"}),
    ({"type": "ne", "key": "team", "value": "hr"}, {"b", "d", "e"}),
    ({"type": "eq", "key": "year", "value": 2024}, {"a"}),
    ({"type": "eq", "key": "year", "value": 2024.0}, {"a"}),
    ({"type": "eq", "key": "year", "value": "2024"}, {"c"}),
    ({"type": "gt", "key": "year", "value": 2020}, {"a"}),
    ({"type": "gte", "key": "year", "value": 2019}, {"a", "b"}),
    ({"type": "lt", "key": "score", "value": 1}, {"a"}),
    ({"type": "lte", "key": "score", "value": 1.5}, {"a", "b"}),
    ({"type": "gt", "key": "team", "value": "eng"}, {"a", "c"}),
    ({"type": "eq", "key": "public", "value": True}, {"a"}),
    ({"type": "ne", "key": "public", "value": True}, {"b", "c", "d", "e"}),
    ({"type": "lt", "key": "public", "value": True}, {"b"}),
    ({"type": "in", "key": "team", "value": ["eng", "ops"]}, {"b"}),
    ({"type": "in", "key": "year", "value": [2019, "2024"]}, {"b", "c"}),
    ({"type": "nin", "key": "team", "value": ["hr"]}, {"b", "d", "e"}),
    ({"type": "gt", "key": "missing", "value": 0}, set()),
    (
        {
            "type": "and",
            "filters": [
                {"type": "eq", "key": "team", "value": "hr"},
                {"type": "or", "filters": [{"type": "eq", "key": "public", "value": True}, {"type": "eq", "key": "year", "value": "2024"}]},
            ],
        },
        {"a", "c"},
    ),
    ({"type": "or", "filters": [{"type": "lt", "key": "year", "value": 2020}, {"type": "nin", "key": "team", "value": ["hr", "eng"]}]}, {"b", "d", "e"}),
]


@pytest.fixture(params=BACKENDS)
def filter_store(request, database):
    """One store per backend holding one single-chunk file per row of ROWS (shared by the cases)."""
    backend = Backend(request.param, Catalog(database), make_index(request.param, database, request))
    rng = np.random.default_rng(9)
    store = backend.store()
    names = {backend.file(store, unit_rows(rng, 1), attrs, texts=[f"row {name}"]): name for name, attrs in ROWS.items()}
    return backend, store, names


def test_every_filter_operator_on_every_backend(filter_store):
    backend, store, names = filter_store
    query = np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)
    failures = []
    for raw, expected in CASES:
        node = SearchRequest.model_validate({"query": "q", "filters": raw}).filters
        dense = {names[h.file_id] for h in backend.index.dense_search(store, query, 50, node)}
        text = {names[h.file_id] for h in backend.index.text_search(store, "row", 50, node)}
        if dense != expected or text != expected:
            failures.append((json.dumps(raw), sorted(expected), sorted(dense), sorted(text)))
    assert failures == []
