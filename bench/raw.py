"""The floor: the same queries sent straight to the backend, over the same table/index and filters
the service uses, without the service in between.

pgvector: one psycopg connection (autocommit, session-level `hnsw.ef_search` and
`hnsw.iterative_scan`, as the service sets per transaction), the service's SQL shapes:
- HNSW: `ORDER BY embedding::vector(384) <=> q::vector(384)` on the partial per-dimension index;
- exact: `ORDER BY embedding <=> q` (no cast: the index cannot serve it, a scan of the store);
- text: the service's BM25 (postgres/bm25.py: its statistics lookup and scoring SQL) on this
  connection, i.e. the keyword leg without the API around it;
- filter: `vector_store_id = store` plus the service's own SQL from postgres/filters.py (for `eq`, with
  the containment test the GIN index on `attributes` serves).
OpenSearch: opensearch-py with default settings against the service's index
(`{prefix}-lucene-384`), routed by store, filtered by store and tenant terms (plus the nested
attribute filter of opensearch/filters.py); k-NN `k = max(k, ef_search)` as the service sends.

Hits are (file_id, text, similarity) tuples, so recall can identify chunks from either side.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import numpy as np

from .data import DIMENSION, FILTER_GROUP, Corpus

Hit = tuple[str, str, float]


class PgVectorRaw:
    name = "pgvector"

    def __init__(self, database_url: str, store_id: str, ef_search: int):
        import psycopg
        from pgvector.psycopg import register_vector

        self.store_id = store_id
        self.database_url = database_url
        self.conn = psycopg.connect(database_url, autocommit=True)
        register_vector(self.conn)
        version = self.conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
        self.pgvector_version = version
        self.ef_search = ef_search
        self.set_ef(ef_search)
        self.iterative_scans = tuple(int(p) for p in version.split(".")[:2]) >= (0, 8)
        if self.iterative_scans:
            self.conn.execute("SET hnsw.iterative_scan = relaxed_order")

    def close(self) -> None:
        self.conn.close()

    def set_ef(self, ef_search: int) -> None:
        """hnsw.ef_search for the following HNSW queries (the service's is HNSW_EF_SEARCH)."""
        self.conn.execute(f"SET hnsw.ef_search = {int(ef_search)}")

    def _where(self, filtered: bool | list[str]) -> tuple[str, list[Any]]:
        """The service's own filter SQL (postgres/filters.py), so both sides can use the same indexes.
        `filtered`: the 1 % filter (`group == FILTER_GROUP`), or a list of groups (`group in [...]`)."""
        from vector_store_api.models.search import ComparisonFilter
        from vector_store_api.vector_index.pgvector.filters import filter_sql

        where, params = "vector_store_id = %s", [self.store_id]
        if filtered:
            condition = (
                ComparisonFilter(type="in", key="group", value=filtered)
                if isinstance(filtered, list)
                else ComparisonFilter(type="eq", key="group", value=FILTER_GROUP)
            )
            sql, filter_params = filter_sql(condition)
            where += f" AND ({sql})"
            params += filter_params
        return where, params

    def settle(self) -> None:
        """Between parts: planner statistics up to date and dirty pages flushed, so neither an
        autovacuum/analyze nor a checkpoint lands in the middle of a measurement."""
        import psycopg

        self.conn.execute("ANALYZE chunks")
        try:
            self.conn.execute("CHECKPOINT")
        except psycopg.Error:
            pass  # not a superuser (DATABASE_URL): fine

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM chunks WHERE vector_store_id = %s", [self.store_id]).fetchone()[0]

    def storage(self) -> dict[str, float]:
        """Bytes per chunk of each structure, over every chunk in the database (the bench's stores only).
        `tsv` and `term_count` are columns inside the chunks heap; the lexical tables are the BM25
        statistics."""
        chunks = self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0] or 1
        relations = {
            "chunks heap (text, embedding, tsv, attributes)": "pg_table_size('chunks')",
            "  of which tsv (the terms with positions)": "(SELECT sum(pg_column_size(tsv)) FROM chunks)",
            "  of which term_count (BM25 length)": "(SELECT sum(pg_column_size(term_count)) FROM chunks)",
            "GIN full-text index (chunks_full_text)": "pg_relation_size('chunks_full_text')",
            "HNSW index (chunks_hnsw_384)": f"coalesce(pg_relation_size(to_regclass('chunks_hnsw_{DIMENSION}')), 0)",
            "BM25 statistics (lexical_terms, lexical_stores)":
                "pg_total_relation_size('lexical_terms') + pg_total_relation_size('lexical_stores')",
        }
        out = {}
        for name, expression in relations.items():
            value = self.conn.execute(f"SELECT {expression}").fetchone()[0]
            out[name] = round(float(value or 0) / chunks, 1)
        return out

    def stored(self) -> list[tuple[str, int, str, np.ndarray]]:
        """(file_id, chunk_index, text, embedding) of every chunk of the store, as indexed."""
        rows = self.conn.execute(
            "SELECT file_id, chunk_index, text, embedding FROM chunks WHERE vector_store_id = %s"
            " ORDER BY file_id, chunk_index",
            [self.store_id],
        ).fetchall()
        to_numpy = lambda e: np.asarray(e.to_numpy() if hasattr(e, "to_numpy") else e, dtype=np.float32)  # noqa: E731
        return [(f, int(i), t, to_numpy(e)) for f, i, t, e in rows]

    def dense(self, vector: np.ndarray, k: int, filtered: bool | list[str] = False) -> list[Hit]:
        from pgvector import Vector

        where, params = self._where(filtered)
        q = Vector(vector)
        rows = self.conn.execute(
            f"SELECT file_id, text, embedding::vector({DIMENSION}) <=> %s::vector({DIMENSION}) AS distance"
            f" FROM chunks WHERE dimension = {DIMENSION} AND {where}"
            f" ORDER BY embedding::vector({DIMENSION}) <=> %s::vector({DIMENSION}) LIMIT %s",
            [q, *params, q, k],
        ).fetchall()
        return [(f, t, 1.0 - float(d)) for f, t, d in rows]

    def exact(self, vector: np.ndarray, k: int, filtered: bool | list[str] = False) -> list[Hit]:
        from pgvector import Vector

        where, params = self._where(filtered)
        rows = self.conn.execute(
            f"SELECT file_id, text, embedding <=> %s AS distance FROM chunks WHERE {where} ORDER BY distance LIMIT %s",
            [Vector(vector), *params, k],
        ).fetchall()
        return [(f, t, 1.0 - float(d)) for f, t, d in rows]

    def text(self, query: str, k: int, filtered: bool = False) -> list[Hit]:
        from psycopg.rows import dict_row

        from vector_store_api.vector_index.pgvector.bm25 import Bm25Search

        where, params = self._where(filtered)
        hits = Bm25Search().search(self.conn.cursor(row_factory=dict_row), self.store_id, where, params, query, k)
        return [(h.file_id, h.text, h.score) for h in hits]

    def bulk_load(self, corpus: Corpus, file_ids: list[str], writers: int = 1) -> float:
        """COPY the corpus (same rows and vectors) into a scratch copy of `chunks` (same columns,
        generated tsvector, HNSW/GIN/btree indexes; no foreign keys); seconds. `writers` parallel
        connections (the service ingests with INGEST_WORKERS), each one binary COPY in one
        transaction of every `writers`-th file."""
        import psycopg
        from pgvector.psycopg import register_vector

        table = f"bench_raw_{uuid.uuid4().hex[:8]}"
        self.conn.execute(f"CREATE TABLE {table} (LIKE chunks INCLUDING ALL)")
        connections = [psycopg.connect(self.database_url, autocommit=True) for _ in range(writers)]
        try:
            for conn in connections:
                register_vector(conn)
            errors: list[BaseException] = []
            threads = [
                threading.Thread(target=self._copy_share, args=(conn, table, corpus, file_ids, w, writers, errors))
                for w, conn in enumerate(connections)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            if errors:
                raise errors[0]
            return elapsed
        finally:
            for conn in connections:
                conn.close()
            self.conn.execute(f"DROP TABLE IF EXISTS {table}")

    def _copy_share(self, conn, table: str, corpus: Corpus, file_ids: list[str], share: int, writers: int,
                    errors: list) -> None:
        from pgvector import Vector
        from psycopg.types.json import Jsonb

        try:
            with conn.transaction(), conn.cursor().copy(
                f"COPY {table} (vector_store_id, file_id, chunk_index, text, token_count, attributes, dimension,"
                " embedding) FROM STDIN WITH (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["text", "text", "int4", "text", "int4", "jsonb", "int4", "vector"])
                attrs = [Jsonb(doc.attributes) for doc in corpus.documents]
                for i in range(corpus.size):
                    doc = int(corpus.chunk_doc[i])
                    if doc % writers != share:
                        continue
                    copy.write_row(
                        (
                            self.store_id,
                            file_ids[doc],
                            corpus.chunk_index[i],
                            corpus.chunk_texts[i],
                            corpus.chunk_tokens[i],
                            attrs[doc],
                            DIMENSION,
                            Vector(corpus.vectors[i]),
                        )
                    )
        except BaseException as error:  # reported by bulk_load
            errors.append(error)


class OpenSearchRaw:
    name = "opensearch"

    def __init__(self, url: str, index: str, store_id: str, ef_search: int):
        from opensearchpy import OpenSearch

        self.client = OpenSearch(hosts=[url], timeout=120)
        self.index = index
        self.store_id = store_id
        self.ef_search = ef_search
        self.params = {"routing": store_id}
        # The tenant term the service adds to every query: read from one of the store's documents.
        body = {"size": 1, "_source": ["tenant_id"], "query": {"term": {"store_id": store_id}}}
        hits = self.client.search(index=index, body=body, params=self.params)["hits"]["hits"]
        self.tenant_id = hits[0]["_source"]["tenant_id"] if hits else ""

    def close(self) -> None:
        self.client.close()

    def set_ef(self, ef_search: int) -> None:
        """The k-NN query's `k` floor (lucene: candidates per segment), as the service derives it."""
        self.ef_search = ef_search

    def _scope(self, filtered: bool) -> list[dict[str, Any]]:
        scope: list[dict[str, Any]] = [{"term": {"store_id": self.store_id}}, {"term": {"tenant_id": self.tenant_id}}]
        if filtered:
            condition = [{"term": {"attrs.key": "group"}}, {"term": {"attrs.s": FILTER_GROUP}}]
            scope.append({"nested": {"path": "attrs", "query": {"bool": {"filter": condition}}}})
        return scope

    def _hits(self, response: dict, cosine: bool) -> list[Hit]:
        # cosinesimil scores are (1 + cos) / 2.
        return [
            (h["_source"]["file_id"], h["_source"]["text"], 2 * h["_score"] - 1 if cosine else h["_score"])
            for h in response["hits"]["hits"]
        ]

    def settle(self) -> None:
        self.client.indices.refresh(index=self.index)

    def storage(self) -> dict[str, float]:
        """Bytes per chunk of the whole index (text, inverted index, vectors, _source)."""
        stats = self.client.indices.stats(index=self.index, metric="store,docs")["_all"]["primaries"]
        docs = stats["docs"]["count"] or 1
        return {"index on disk (text, BM25 postings, HNSW graph, _source)": round(stats["store"]["size_in_bytes"] / docs, 1)}

    def count(self) -> int:
        body = {"query": {"bool": {"filter": self._scope(False)}}}
        return self.client.count(index=self.index, body=body, params=self.params)["count"]

    def stored(self) -> list[tuple[str, int, str, np.ndarray]]:
        """(file_id, chunk_index, text, embedding) of every chunk of the store, from `_source`
        (the service keeps the indexed vector there), by a scroll."""
        from opensearchpy import helpers

        query = {"query": {"bool": {"filter": self._scope(False)}}, "_source": ["file_id", "chunk_index", "text", "embedding"]}
        rows = [
            (h["_source"]["file_id"], int(h["_source"]["chunk_index"]), h["_source"]["text"],
             np.asarray(h["_source"]["embedding"], dtype=np.float32))
            for h in helpers.scan(self.client, query=query, index=self.index, size=1000, routing=self.store_id)
        ]
        return sorted(rows, key=lambda r: (r[0], r[1]))

    def dense(self, vector: np.ndarray, k: int, filtered: bool = False) -> list[Hit]:
        knn = {"vector": vector.tolist(), "k": max(k, self.ef_search), "filter": {"bool": {"filter": self._scope(filtered)}}}
        body = {
            "size": k,
            "track_total_hits": False,
            "_source": ["file_id", "text", "attributes"],
            "query": {"knn": {"embedding": knn}},
        }
        return self._hits(self.client.search(index=self.index, body=body, params=self.params), True)

    def exact(self, vector: np.ndarray, k: int, filtered: bool = False) -> list[Hit]:
        script = {
            "source": "knn_score",
            "lang": "knn",
            "params": {"field": "embedding", "query_value": vector.tolist(), "space_type": "cosinesimil"},
        }
        body = {
            "size": k,
            "track_total_hits": False,
            "_source": ["file_id", "text", "attributes"],
            "query": {"script_score": {"query": {"bool": {"filter": self._scope(filtered)}}, "script": script}},
        }
        return self._hits(self.client.search(index=self.index, body=body, params=self.params), True)

    def text(self, query: str, k: int, filtered: bool = False) -> list[Hit]:
        body = {
            "size": k,
            "track_total_hits": False,
            "_source": ["file_id", "text", "attributes"],
            "query": {
                "bool": {
                    "must": [{"match": {"text": {"query": query, "operator": "or"}}}],
                    "filter": self._scope(filtered),
                }
            },
        }
        return self._hits(self.client.search(index=self.index, body=body, params=self.params), False)

    def bulk_load(self, corpus: Corpus, file_ids: list[str], writers: int = 1) -> float:
        """`_bulk` of the same documents (same mapping and settings as the service's index, same ids
        and routing) into a scratch index, 500 per request from `writers` threads
        (helpers.parallel_bulk), then one refresh (what makes them searchable); seconds."""
        from opensearchpy import helpers

        from vector_store_api.vector_index.opensearch.cluster import ClusterIndex

        settings = self.client.indices.get_settings(index=self.index)[self.index]["settings"]["index"]
        mapping = self.client.indices.get_mapping(index=self.index)[self.index]["mappings"]
        body = ClusterIndex(None, shards=int(settings["number_of_shards"])).index_body(DIMENSION)
        body["mappings"] = mapping
        scratch = f"bench-raw-{uuid.uuid4().hex[:8]}"
        self.client.indices.create(index=scratch, body=body)

        def actions():
            for i in range(corpus.size):
                doc = corpus.documents[int(corpus.chunk_doc[i])]
                file_id = file_ids[int(corpus.chunk_doc[i])]
                yield {
                    "_index": scratch,
                    "_id": f"{self.store_id}:{file_id}:{corpus.chunk_index[i]}",
                    "_routing": self.store_id,
                    "_source": {
                        "store_id": self.store_id,
                        "tenant_id": self.tenant_id,
                        "file_id": file_id,
                        "chunk_index": corpus.chunk_index[i],
                        "token_count": corpus.chunk_tokens[i],
                        "text": corpus.chunk_texts[i],
                        "attributes": doc.attributes,
                        "attrs": [{"key": k, "s": v} for k, v in doc.attributes.items()],
                        "embedding": corpus.vectors[i].tolist(),
                    },
                }

        try:
            started = time.perf_counter()
            results = helpers.parallel_bulk(
                self.client, actions(), thread_count=writers, chunk_size=500, max_chunk_bytes=8 * 1024 * 1024,
                raise_on_error=False,
            )
            failed = [item for ok, item in results if not ok]
            self.client.indices.refresh(index=scratch)
            elapsed = time.perf_counter() - started
            if failed:
                raise RuntimeError(f"raw bulk load: {len(failed)} of {corpus.size} failed: {json.dumps(failed)[:500]}")
            return elapsed
        finally:
            self.client.indices.delete(index=scratch, ignore_unavailable=True)
