"""pgvector specifics (the shared backend contract is in test_backend_contract.py): the shared-HNSW
trap and its fallback, and chunks living and dying with their attachment rows (foreign keys)."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from pgvector import Vector

from vector_store_api.catalog import Catalog
from vector_store_api.catalog.records import NewAttachment
from vector_store_api.ids import FILE_PREFIX, VECTOR_STORE_PREFIX, new_id, now
from vector_store_api.models.common import StaticChunking
from vector_store_api.models.files import FileObject
from vector_store_api.models.search import ComparisonFilter
from vector_store_api.vector_index.base import ChunkToIndex, StoreRef
from vector_store_api.vector_index.pgvector.index import PgVectorIndex

DIM = 16
CHUNKING = StaticChunking(max_chunk_size_tokens=800, chunk_overlap_tokens=400)


def unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class Fixture:
    """Creates stores and attached files in the catalog, and chunks in the index."""

    def __init__(self, catalog: Catalog, index: PgVectorIndex):
        self.catalog = catalog
        self.index = index
        self.tenant = f"tenant_{uuid.uuid4().hex[:12]}"

    def store(self) -> StoreRef:
        store_id = new_id(VECTOR_STORE_PREFIX)
        self.catalog.insert_store(self.tenant, store_id, now(), "", None, None, None, "hash", "hash-v1", DIM, "pgvector")
        ref = StoreRef(self.tenant, store_id, DIM)
        self.index.prepare_store(ref)
        return ref

    def file(self, store: StoreRef, vectors: np.ndarray, attributes: dict | None = None, texts=None) -> str:
        file_id = new_id(FILE_PREFIX)
        self.catalog.insert_file(
            self.tenant, FileObject(id=file_id, bytes=1, created_at=now(), filename=f"{file_id}.txt", purpose="assistants"), "k"
        )
        self.catalog.attach(self.tenant, store.store_id, [NewAttachment(file_id, attributes, CHUNKING)], now())
        texts = texts or [f"chunk {i} of {file_id}" for i in range(len(vectors))]
        chunks = [ChunkToIndex(i, text, 3) for i, text in enumerate(texts)]
        assert self.index.replace_file_chunks(store, file_id, attributes, chunks, vectors)
        return file_id


@pytest.fixture
def catalog(database) -> Catalog:
    return Catalog(database)


@pytest.fixture
def index(database) -> PgVectorIndex:
    # A low exact-scan bound so that a few thousand rows exercise the HNSW path.
    return PgVectorIndex(database, hnsw_ef_search=40, exact_search_max_chunks=100)


@pytest.fixture
def fx(catalog, index) -> Fixture:
    return Fixture(catalog, index)


def brute_force(vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    return list(np.argsort(-(vectors @ query), kind="stable")[:k])


def test_selective_filter_in_a_large_store_returns_min_k_matching(fx):
    """pgvector >= 0.8 (the embedded server, RDS): iterative index scans find every matching chunk."""
    assert fx.index.iterative_scans
    _selective_filter_returns_min_k_matching(fx)


def test_without_iterative_scans_a_short_hnsw_answer_falls_back_to_the_exact_scan(legacy_database):
    """pgvector < 0.8 (the old embedded package's 0.6.2): the shared index alone is short, the
    fallback answers."""
    index = PgVectorIndex(legacy_database, hnsw_ef_search=40, exact_search_max_chunks=100)
    assert index.pgvector_version < (0, 8) and not index.iterative_scans
    _selective_filter_returns_min_k_matching(Fixture(Catalog(legacy_database), index))


def _selective_filter_returns_min_k_matching(fx: Fixture) -> None:
    rng = np.random.default_rng(3)
    store = fx.store()
    for _ in range(5):
        fx.file(store, unit_rows(rng, 600), {"team": "bulk"})
    rare_vectors = unit_rows(rng, 150)  # more than the exact-scan bound: the HNSW path runs first
    rare = fx.file(store, rare_vectors, {"team": "rare"})
    query = unit_rows(rng, 1)[0]
    # `in`, not `eq`: an `eq` filter may be answered through the GIN index on attributes instead of
    # HNSW, which would hide the trap this test sets up.
    only_rare = ComparisonFilter(type="in", key="team", value=["rare"])

    # The trap: without iterative scans the shared HNSW index alone yields too few of the matching
    # chunks; with them it yields all k...
    where, params = fx.index._where(store, only_rare)
    with fx.index._db.connection() as conn, conn.transaction():
        conn.execute("ANALYZE chunks")  # so the planner picks the HNSW index, as it would in production
        hnsw_only = fx.index._hnsw_search(conn, store, where, params, Vector(query), 50)
    assert len(hnsw_only) == 50 if fx.index.iterative_scans else len(hnsw_only) < 50
    # ...and the search returns exactly k either way.
    hits = fx.index.dense_search(store, query, 50, only_rare)

    assert len(hits) == 50
    assert {h.file_id for h in hits} == {rare}
    expected = [f"chunk {i} of {rare}" for i in brute_force(rare_vectors, query, 50)]
    assert [h.text for h in hits] == expected  # the fallback is exact
    eq_rare = ComparisonFilter(type="eq", key="team", value="rare")
    assert [h.text for h in fx.index.dense_search(store, query, 50, eq_rare)] == expected


def test_replace_is_idempotent_and_deletes_cascade(fx, catalog):
    rng = np.random.default_rng(6)
    store = fx.store()
    file_id = fx.file(store, unit_rows(rng, 5))
    chunks = [ChunkToIndex(i, f"again {i}", 2) for i in range(3)]
    assert fx.index.replace_file_chunks(store, file_id, None, chunks, unit_rows(rng, 3))
    assert fx.index.file_chunk_texts(store, file_id) == ["again 0", "again 1", "again 2"]

    fx.index.update_attributes(store, file_id, {"x": True})
    hits = fx.index.dense_search(store, unit_rows(rng, 1)[0], 10, ComparisonFilter(type="eq", key="x", value=True))
    assert len(hits) == 3

    assert catalog.detach(fx.tenant, store.store_id, file_id)
    assert fx.index.file_chunk_texts(store, file_id) == []
    # Indexing a file that is no longer attached is refused (e.g. detached mid-ingest).
    assert not fx.index.replace_file_chunks(store, file_id, None, chunks, unit_rows(rng, 3))


def test_deleting_a_store_removes_every_chunk_in_one_go(fx, catalog, database):
    rng = np.random.default_rng(7)
    store = fx.store()
    files = [fx.file(store, unit_rows(rng, 4)) for _ in range(3)]
    assert catalog.delete_store(fx.tenant, store.store_id)
    with database.connection() as conn:
        left = conn.execute("SELECT count(*) AS n FROM chunks WHERE vector_store_id = %s", (store.store_id,)).fetchone()
    assert left["n"] == 0
    assert all(catalog.get_file(fx.tenant, f, now()) is not None for f in files)  # Files survive


def test_pool_hands_out_the_most_recently_returned_connection(pg_url):
    """LIFO: back-to-back requests reuse one warm backend instead of rotating over every pooled one."""
    from vector_store_api.catalog.database import Database

    db = Database(pg_url, min_size=1, max_size=3)
    try:
        backend_pid = "SELECT pg_backend_pid() AS pid"
        with db.connection() as first, db.connection() as second, db.connection() as third:
            pids = [c.execute(backend_pid).fetchone()["pid"] for c in (first, second, third)]
        # Returned in the order third, second, first: `first` came back last.
        for _ in range(5):
            with db.connection() as conn:
                assert conn.execute(backend_pid).fetchone()["pid"] == pids[0]
        with db.connection() as a, db.connection() as b:
            assert [a.execute(backend_pid).fetchone()["pid"], b.execute(backend_pid).fetchone()["pid"]] == pids[:2]
    finally:
        db.close()
