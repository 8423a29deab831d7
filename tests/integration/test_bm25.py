"""BM25 on pgvector: the scores (by hand and against bm25s), the exact top k whatever k is, and the
per-store statistics after every kind of write (attach, detach, re-ingest, store delete, files
deleted, concurrent ingests)."""

from __future__ import annotations

import math
import threading
import uuid

import bm25s
import numpy as np
import pytest

from vector_store_api.catalog import Catalog
from vector_store_api.catalog.records import NewAttachment
from vector_store_api.ids import FILE_PREFIX, VECTOR_STORE_PREFIX, new_id, now
from vector_store_api.models.common import StaticChunking
from vector_store_api.models.files import FileObject
from vector_store_api.models.search import ComparisonFilter
from vector_store_api.vector_index.base import ChunkToIndex, StoreRef
from vector_store_api.vector_index.pgvector.bm25 import Bm25Search, QueryTerm, candidates, tsquery_any
from vector_store_api.vector_index.pgvector.index import PgVectorIndex

DIM = 4
CHUNKING = StaticChunking(max_chunk_size_tokens=800, chunk_overlap_tokens=400)
VOCABULARY = (
    "protein diet cancer risk heart disease vitamin supplement cholesterol statin fiber sugar blood "
    "pressure study trial mortality breast colon liver kidney meat dairy vegetables fruit nuts soy "
    "inflammation oxidative stress gene expression insulin obesity exercise sleep coffee tea alcohol"
).split()


class Stores:
    def __init__(self, database):
        self.db = database
        self.catalog = Catalog(database)
        self.index = PgVectorIndex(database)
        self.tenant = f"tenant_{uuid.uuid4().hex[:12]}"

    def store(self) -> StoreRef:
        store_id = new_id(VECTOR_STORE_PREFIX)
        self.catalog.insert_store(
            self.tenant, store_id, now(), "", None, None, None, "hash", "hash-v1", DIM, "pgvector"
        )
        ref = StoreRef(self.tenant, store_id, DIM)
        self.index.prepare_store(ref)
        return ref

    def attach(self, store: StoreRef, file_id: str | None = None) -> str:
        if file_id is None:
            file_id = new_id(FILE_PREFIX)
            meta = FileObject(id=file_id, bytes=1, created_at=now(), filename=f"{file_id}.txt", purpose="assistants")
            self.catalog.insert_file(self.tenant, meta, "k")
        self.catalog.attach(self.tenant, store.store_id, [NewAttachment(file_id, None, CHUNKING)], now())
        return file_id

    def index_texts(self, store: StoreRef, file_id: str, texts: list[str], attributes: dict | None = None) -> None:
        chunks = [ChunkToIndex(i, text, 1) for i, text in enumerate(texts)]
        vectors = np.ones((len(texts), DIM), dtype=np.float32) / 2
        assert self.index.replace_file_chunks(store, file_id, attributes, chunks, vectors)

    def file(self, store: StoreRef, texts: list[str], attributes: dict | None = None) -> str:
        file_id = self.attach(store)
        self.index_texts(store, file_id, texts, attributes)
        return file_id

    def statistics(self, store: StoreRef) -> tuple[tuple[int, int] | None, dict[str, int]]:
        with self.db.connection() as conn:
            totals = conn.execute(
                "SELECT chunks, terms FROM lexical_stores WHERE vector_store_id = %s", (store.store_id,)
            ).fetchone()
            terms = conn.execute(
                "SELECT term, df FROM lexical_terms WHERE vector_store_id = %s", (store.store_id,)
            ).fetchall()
        return (None if totals is None else (totals["chunks"], totals["terms"])), {r["term"]: r["df"] for r in terms}

    def recounted(self, store: StoreRef) -> tuple[tuple[int, int] | None, dict[str, int]]:
        """The statistics computed from scratch from the store's chunks."""
        with self.db.connection() as conn:
            totals = conn.execute(
                "SELECT count(*) AS chunks, coalesce(sum(term_count), 0) AS terms FROM chunks"
                " WHERE vector_store_id = %s",
                (store.store_id,),
            ).fetchone()
            terms = conn.execute(
                "SELECT w.lexeme AS term, count(*) AS df FROM chunks c, unnest(c.tsv) w"
                " WHERE c.vector_store_id = %s GROUP BY 1",
                (store.store_id,),
            ).fetchall()
        return (totals["chunks"], totals["terms"]), {r["term"]: r["df"] for r in terms}

    def assert_exact(self, store: StoreRef) -> None:
        (totals, terms), (chunks_terms, expected_terms) = self.statistics(store), self.recounted(store)
        assert terms == expected_terms
        assert totals == chunks_terms or (totals in (None, (0, 0)) and chunks_terms == (0, 0))

    def analysed(self, text: str) -> list[str]:
        """The text as PostgreSQL's `english` configuration sees it: its terms, in order."""
        with self.db.connection() as conn:
            rows = conn.execute(
                "SELECT w.lexeme, p FROM unnest(to_tsvector('english', %s)) w, unnest(w.positions) p ORDER BY p",
                (text,),
            ).fetchall()
        return [r["lexeme"] for r in rows]


@pytest.fixture
def stores(database) -> Stores:
    return Stores(database)


def random_texts(rng: np.random.Generator, n: int, words: tuple[int, int] = (5, 40)) -> list[str]:
    # Zipf-like: a few words are in almost every text, most are rare.
    p = 1.0 / np.arange(1, len(VOCABULARY) + 1) ** 1.1
    p /= p.sum()
    return [" ".join(rng.choice(VOCABULARY, size=rng.integers(*words), p=p)) for _ in range(n)]


def test_scores_match_a_hand_computed_example(stores):
    store = stores.store()
    stores.file(store, ["cats chase mice", "the dog chases the cat and the cat runs", "dogs sleep"])
    # Analysed: [cat, chase, mice] (3 terms), [dog, chase, cat, cat, run] (5), [dog, sleep] (2).
    n, avgdl, k1, b = 3, 10 / 3, 1.2, 0.75
    idf_cat = math.log(1 + (n - 2 + 0.5) / (2 + 0.5))  # in 2 of 3 chunks
    idf_mice = math.log(1 + (n - 1 + 0.5) / (1 + 0.5))  # in 1 of 3

    def tf_part(tf: int, length: int) -> float:
        return tf / (tf + k1 * (1 - b + b * length / avgdl))

    hits = stores.index.text_search(store, "a cat and some mice", 10, None)
    assert [h.text for h in hits] == ["cats chase mice", "the dog chases the cat and the cat runs"]
    assert hits[0].score == pytest.approx(idf_cat * tf_part(1, 3) + idf_mice * tf_part(1, 3), rel=1e-9)
    assert hits[1].score == pytest.approx(idf_cat * tf_part(2, 5), rel=1e-9)
    # A repeated query word counts twice (as in Lucene's match query); unknown words add nothing.
    again = stores.index.text_search(store, "mice mice zebra", 10, None)
    assert [h.text for h in again] == ["cats chase mice"]
    assert again[0].score == pytest.approx(2 * idf_mice * tf_part(1, 3), rel=1e-9)
    assert stores.index.text_search(store, "zebra the", 10, None) == []


def test_scores_and_ranking_match_bm25s_on_a_small_corpus(stores):
    rng = np.random.default_rng(11)
    store = stores.store()
    texts = random_texts(rng, 400)
    for start in range(0, len(texts), 50):  # in 8 files: statistics summed over several writes
        stores.file(store, texts[start : start + 50])
    reference = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    reference.index([stores.analysed(t) for t in texts], show_progress=False)

    for query in random_texts(rng, 25, words=(1, 6)):
        expected = reference.get_scores(stores.analysed(query)).astype(np.float64)
        hits = stores.index.text_search(store, query, 20, None)
        matching = int((expected > 0).sum())
        assert len(hits) == min(20, matching)
        scores = {h.text: h.score for h in hits}
        for text, score in scores.items():
            assert score == pytest.approx(expected[texts.index(text)], rel=1e-4)
        # The exact top 20: nothing left out scores above the 20th.
        if hits:
            left_out = [expected[i] for i, t in enumerate(texts) if t not in scores]
            assert max(left_out, default=0.0) <= hits[-1].score * (1 + 1e-4)


def test_the_top_n_of_a_deeper_search_is_the_search_for_n(stores):
    rng = np.random.default_rng(5)
    store = stores.store()
    for _ in range(6):
        stores.file(store, random_texts(rng, 100))
    for query in random_texts(rng, 30, words=(1, 8)):
        deep = stores.index.text_search(store, query, 50, None)
        for n in (1, 3, 10, 20):
            assert [h.chunk_id for h in stores.index.text_search(store, query, n, None)] == [
                h.chunk_id for h in deep[:n]
            ]


def test_only_chunks_that_can_enter_the_top_k_are_scored(stores):
    """The chunks of a common word are never all scored when the rare words decide the top k."""
    store = stores.store()
    common = ["diet study " + " ".join(["fruit"] * (i % 5)) for i in range(300)]
    stores.file(store, common + ["statin diet study", "statin trial"])
    search = Bm25Search()
    with stores.db.connection() as conn:
        terms, _ = search.query_terms(conn, store.store_id, "statin diet")
    assert [t.term for t in terms] == ["statin", "diet"] and [t.df for t in terms] == [2, 301]
    assert candidates(terms, terms[0].weight) == "('statin' & 'diet')"  # more than "statin" alone
    assert candidates(terms, terms[0].weight / 2) == "('statin')"  # "diet" weighs almost nothing
    assert candidates(terms, 0.0) == "'statin' | 'diet'"
    scored: list[tuple[str, int]] = []
    original = search._scored

    def counting(conn, terms, tsquery, *args):
        hits = original(conn, terms, tsquery, *args)
        scored.append((tsquery, len(hits)))
        return hits

    search._scored = counting
    with stores.db.connection() as conn:
        where, params = stores.index._where(store, None)
        top2 = search.search(conn, store.store_id, where, params, "statin diet", 2)
        assert {h.text for h in top2} == {"statin diet study", "statin trial"}
        # No diet-only chunk was read, and no chunk twice: the second round skips the first's.
        assert scored == [("('statin' & 'diet')", 1), ("(('statin')) & !(('statin' & 'diet'))", 1)]
        scored.clear()
        top5 = search.search(conn, store.store_id, where, params, "statin diet", 5)
        assert top5[:2] == top2 and len(top5) == 5
        # Only 2 chunks beat "diet" alone, so it is needed: the last round reads diet-only chunks.
        assert scored[-1] == ("('statin' | 'diet') & !(('statin'))", 5)


def test_candidate_term_sets_are_minimal_and_bounded():
    terms = [QueryTerm(name, weight, 1) for name, weight in (("a", 5.0), ("b", 4.0), ("c", 3.0), ("d", 0.5))]
    assert candidates(terms, 6.0) == "('a' & 'b') | ('a' & 'c') | ('b' & 'c')"
    assert candidates(terms, 4.4) == "('a') | ('b' & 'c') | ('b' & 'd')"  # b + d = 4.5
    assert candidates(terms, 12.0) == "('a' & 'b' & 'c' & 'd')"
    # Too many sets: any of the terms a chunk cannot do without (without a and b: at most 3.5).
    assert candidates(terms, 6.0, max_sets=2) == "'a' | 'b'"
    many = [QueryTerm(f"t{i}", 1.0, 1) for i in range(30)]
    assert candidates(many, 1.5, max_sets=500).count("&") == 30 * 29 // 2  # every pair
    assert candidates(many, 2.5) == tsquery_any([f"t{i}" for i in range(28)])  # 4,060 triples: too many


def test_filters_apply_and_statistics_stay_the_stores(stores):
    store, other = stores.store(), stores.store()
    stores.file(store, ["kidney stones and oxalate", "kidney function"], {"kind": "a"})
    stores.file(store, ["kidney beans"], {"kind": "b"})
    stores.file(other, ["kidney"] * 50)  # another store's chunks change nothing here
    only_b = ComparisonFilter(type="eq", key="kind", value="b")
    assert [h.text for h in stores.index.text_search(store, "kidney", 10, only_b)] == ["kidney beans"]
    assert stores.statistics(store)[1]["kidney"] == 3
    assert stores.statistics(other)[1] == {"kidney": 50}


def test_statistics_stay_exact_through_attach_detach_reingest_and_deletes(stores):
    rng = np.random.default_rng(2)
    store = stores.store()
    files = [stores.file(store, random_texts(rng, 30)) for _ in range(4)]
    stores.assert_exact(store)

    stores.index_texts(store, files[0], random_texts(rng, 12))  # re-ingest replaces the chunks
    stores.assert_exact(store)
    assert stores.catalog.detach(stores.tenant, store.store_id, files[1])  # cascade from the attachment
    stores.assert_exact(store)
    stores.index.delete_file_chunks(store, files[2])
    stores.assert_exact(store)
    stores.catalog.delete_file(stores.tenant, files[3])  # cascade from the file, through its attachments
    stores.assert_exact(store)
    assert stores.statistics(store)[0][0] == 12

    stores.catalog.detach(stores.tenant, store.store_id, files[0])
    assert stores.statistics(store) == (None, {})  # nothing is left behind (no df 0 terms, no empty row)
    assert stores.index.text_search(store, VOCABULARY[0], 10, None) == []

    stores.file(store, random_texts(rng, 5))
    assert stores.catalog.delete_store(stores.tenant, store.store_id)
    assert stores.statistics(store) == (None, {})


def test_the_query_text_is_analysed_like_the_chunks_and_never_breaks_the_query(stores):
    store = stores.store()
    stores.file(store, ["Running runners ran: O'Brien's e-mail is ob@example.com, v1.2.3 \\ 'quoted'"])
    for query in ["running", "O'Brien", "ob@example.com", "v1.2.3", "\\", "'", "a & b | !c", "::*", "e-mail"]:
        stores.index.text_search(store, query, 5, None)  # never raises
    assert len(stores.index.text_search(store, "run", 5, None)) == 1
    assert len(stores.index.text_search(store, "ob@example.com", 5, None)) == 1
    assert tsquery_any(["it's", "a\\b"]) == "'it''s' | 'a\\\\b'"


def test_concurrent_ingests_into_one_store_neither_deadlock_nor_lose_counts(stores):
    rng = np.random.default_rng(9)
    store = stores.store()
    files = [stores.attach(store) for _ in range(8)]
    batches = [random_texts(rng, 40) for _ in files]
    errors: list[BaseException] = []

    def ingest(i: int) -> None:
        try:
            for _ in range(3):  # each file written three times: inserts and deletes interleave
                stores.index_texts(store, files[i], batches[i])
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=ingest, args=(i,)) for i in range(len(files))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    stores.assert_exact(store)
    assert stores.statistics(store)[0][0] == sum(len(b) for b in batches)


def test_a_store_deleted_while_its_files_are_ingested_neither_deadlocks_nor_leaves_statistics(stores):
    rng = np.random.default_rng(4)
    errors: list[BaseException] = []

    def ingest(store: StoreRef, file_id: str, texts: list[str]) -> None:
        chunks = [ChunkToIndex(i, text, 1) for i, text in enumerate(texts)]
        vectors = np.ones((len(texts), DIM), dtype=np.float32) / 2
        try:
            for _ in range(5):  # False once the store (and with it the attachment) is gone
                stores.index.replace_file_chunks(store, file_id, None, chunks, vectors)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    for _ in range(4):
        store = stores.store()
        texts = random_texts(rng, 60)
        threads = [threading.Thread(target=ingest, args=(store, stores.attach(store), texts)) for _ in range(4)]
        for t in threads:
            t.start()
        assert stores.catalog.delete_store(stores.tenant, store.store_id)
        for t in threads:
            t.join(timeout=120)
        assert not errors
        assert stores.statistics(store) == (None, {})
