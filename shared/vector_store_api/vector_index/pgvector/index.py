"""The pgvector implementation of VectorIndex.

One `chunks` table for every tenant and store. Each embedding dimension gets its own partial HNSW
index over `embedding::vector(dim)` (cosine). The classic trap of a shared HNSW index is that it
returns the globally nearest `ef_search` candidates and filters them afterwards, so a small store or
a selective filter gets too few hits. A search here always returns min(k, matching chunks):
- a store (or filtered subset) of at most `exact_search_max_chunks` chunks is scanned exactly;
- otherwise HNSW is used, with iterative index scans on pgvector >= 0.8, and if it still returns
  fewer than k rows, the exact scan answers instead (the rule both backends share: planning.py).
The full-text leg is BM25 (bm25.py).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Sequence

import numpy as np
from pgvector import Vector
from psycopg import Connection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from ...catalog.database import Database
from ..base import ChunkHit, ChunkToIndex, Filter, StoreRef
from ..planning import exact_by_estimate
from .bm25 import Bm25Search
from .filters import filter_sql

log = logging.getLogger(__name__)

MAX_HNSW_DIMENSION = 2000  # pgvector's limit for `vector` HNSW indexes

Conn = Connection[DictRow]  # the pool's connections return rows as dicts


def _parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


class PgVectorIndex:
    def __init__(
        self,
        db: Database,
        *,
        hnsw_m: int = 16,
        hnsw_ef_construction: int = 64,
        hnsw_ef_search: int = 100,
        exact_search_max_chunks: int = 20_000,
        bm25: Bm25Search | None = None,
    ) -> None:
        self._db = db
        self._m = hnsw_m
        self._ef_construction = hnsw_ef_construction
        self._ef_search = hnsw_ef_search
        self._exact_max = exact_search_max_chunks
        self._bm25 = bm25 or Bm25Search()
        self._indexed_dimensions: set[int] = set()
        self._lock = threading.Lock()
        with db.connection() as conn:
            row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        if row is None:  # the schema migration creates it: only a database outside it lacks it
            raise RuntimeError("the pgvector extension ('vector') is not installed in the database")
        self.pgvector_version = _parse_version(row["extversion"])
        self.iterative_scans = self.pgvector_version >= (0, 8)
        # Session settings of every pooled connection (no per-search SET round trips).
        settings = {"hnsw.ef_search": str(hnsw_ef_search)}
        if self.iterative_scans:
            settings["hnsw.iterative_scan"] = "relaxed_order"
        db.set_session(settings)

    def ping(self) -> bool:
        return self._db.ping()

    # -------------------------------------------------------------- writing
    def prepare_store(self, store: StoreRef) -> None:
        dim = store.dimension
        if dim in self._indexed_dimensions or dim > MAX_HNSW_DIMENSION:
            return
        with self._lock, self._db.connection() as conn, conn.transaction():
            # The advisory lock serialises concurrent creators of the same index across processes.
            conn.execute("SELECT pg_advisory_xact_lock(7345002, %s)", (dim,))
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS chunks_hnsw_{dim:d} ON chunks"
                f" USING hnsw ((embedding::vector({dim:d})) vector_cosine_ops)"
                f" WITH (m = {self._m:d}, ef_construction = {self._ef_construction:d})"
                f" WHERE dimension = {dim:d}"
            )
            self._indexed_dimensions.add(dim)

    def replace_file_chunks(
        self,
        store: StoreRef,
        file_id: str,
        attributes: dict[str, Any] | None,
        chunks: Sequence[ChunkToIndex],
        embeddings: np.ndarray,
    ) -> bool:
        attrs = Jsonb(attributes) if attributes is not None else None
        with self._db.connection() as conn, conn.transaction():
            attached = conn.execute(
                "SELECT 1 FROM vector_store_files WHERE vector_store_id = %s AND file_id = %s FOR UPDATE",
                (store.store_id, file_id),
            ).fetchone()
            if attached is None:
                return False
            conn.execute("DELETE FROM chunks WHERE vector_store_id = %s AND file_id = %s", (store.store_id, file_id))
            with conn.cursor().copy(
                "COPY chunks (vector_store_id, file_id, chunk_index, text, token_count, attributes, dimension, embedding)"
                " FROM STDIN WITH (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["text", "text", "int4", "text", "int4", "jsonb", "int4", "vector"])
                for chunk, vector in zip(chunks, embeddings, strict=True):
                    copy.write_row(
                        (
                            store.store_id,
                            file_id,
                            chunk.chunk_index,
                            chunk.text.replace("\x00", ""),
                            chunk.token_count,
                            attrs,
                            store.dimension,
                            Vector(vector),
                        )
                    )
        return True

    def update_attributes(self, store: StoreRef, file_id: str, attributes: dict[str, Any] | None) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE chunks SET attributes = %s WHERE vector_store_id = %s AND file_id = %s",
                (Jsonb(attributes) if attributes is not None else None, store.store_id, file_id),
            )

    def delete_file_chunks(self, store: StoreRef, file_id: str) -> None:
        with self._db.connection() as conn:
            conn.execute("DELETE FROM chunks WHERE vector_store_id = %s AND file_id = %s", (store.store_id, file_id))

    def delete_store(self, store: StoreRef) -> None:
        # The catalog's delete already cascaded to the chunks; this keeps the call idempotent.
        with self._db.connection() as conn:
            conn.execute("DELETE FROM chunks WHERE vector_store_id = %s", (store.store_id,))

    def file_chunk_texts(self, store: StoreRef, file_id: str) -> list[str]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT text FROM chunks WHERE vector_store_id = %s AND file_id = %s ORDER BY chunk_index",
                (store.store_id, file_id),
            ).fetchall()
        return [r["text"] for r in rows]

    def export_file_chunks(self, store: StoreRef, file_id: str) -> tuple[list[ChunkToIndex], np.ndarray]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT chunk_index, text, token_count, embedding FROM chunks"
                " WHERE vector_store_id = %s AND file_id = %s ORDER BY chunk_index",
                (store.store_id, file_id),
            ).fetchall()
        chunks = [ChunkToIndex(r["chunk_index"], r["text"], r["token_count"]) for r in rows]
        vectors = np.array([r["embedding"].to_numpy() for r in rows], dtype=np.float32).reshape(len(rows), -1)
        return chunks, vectors

    # ------------------------------------------------------------ searching
    def _where(self, store: StoreRef, filters: Filter | None) -> tuple[str, list[Any]]:
        where, params = "vector_store_id = %s", [store.store_id]
        if filters is not None:
            sql, filter_params = filter_sql(filters)
            where += f" AND ({sql})"
            params += filter_params
        return where, params

    def dense_search(self, store: StoreRef, vector: np.ndarray, k: int, filters: Filter | None) -> list[ChunkHit]:
        where, params = self._where(store, filters)
        query = Vector(vector)
        with self._db.connection() as conn:
            if store.dimension <= MAX_HNSW_DIMENSION and self._large(conn, store, filters, where, params):
                hits = self._hnsw_search(conn, store, where, params, query, k)
                if len(hits) >= k:
                    return hits
            return self._exact_search(conn, where, params, query, k)

    def _large(self, conn: Conn, store: StoreRef, filters: Filter | None, where: str, params: list[Any]) -> bool:
        """Whether more than `exact_search_max_chunks` chunks match: from the catalog's estimate for a
        whole store (an error either way only costs time: a short HNSW answer falls back to the exact
        scan), else counted (at most limit + 1 rows)."""
        exact = exact_by_estimate(store, filters, self._exact_max)
        if exact is not None:
            return not exact
        return self._matching_exceeds(conn, where, params, self._exact_max)

    def _matching_exceeds(self, conn: Conn, where: str, params: list[Any], limit: int) -> bool:
        """Whether more than `limit` chunks match (counts at most limit + 1 rows)."""
        row = conn.execute(
            f"SELECT count(*) AS n FROM (SELECT 1 FROM chunks WHERE {where} LIMIT %s) m", [*params, limit + 1]
        ).fetchone()
        return bool(row is not None and row["n"] > limit)

    def _exact_search(self, conn: Conn, where: str, params: list[Any], query: Vector, k: int) -> list[ChunkHit]:
        # `embedding <=> q` (no cast) cannot use the per-dimension expression index: an exact scan.
        rows = conn.execute(
            f"SELECT id, file_id, text, attributes, embedding <=> %s AS distance FROM chunks WHERE {where}"
            " ORDER BY distance LIMIT %s",
            [query, *params, k],
        ).fetchall()
        return [self._dense_hit(r) for r in rows]

    def _hnsw_search(
        self, conn: Conn, store: StoreRef, where: str, params: list[Any], query: Vector, k: int
    ) -> list[ChunkHit]:
        if k > self._ef_search:  # the session default (set per pooled connection) is HNSW_EF_SEARCH
            with conn.transaction():
                conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(k),))
                return self._hnsw_query(conn, store, where, params, query, k)
        return self._hnsw_query(conn, store, where, params, query, k)

    def _hnsw_query(
        self, conn: Conn, store: StoreRef, where: str, params: list[Any], query: Vector, k: int
    ) -> list[ChunkHit]:
        dim = store.dimension
        # Iterative scans may return rows slightly out of order: re-sort the k rows exactly.
        rows = conn.execute(
            "SELECT * FROM ("
            f" SELECT id, file_id, text, attributes, embedding::vector({dim:d}) <=> %s::vector({dim:d}) AS distance"
            f" FROM chunks WHERE dimension = {dim:d} AND {where}"
            f" ORDER BY embedding::vector({dim:d}) <=> %s::vector({dim:d}) LIMIT %s"
            ") hits ORDER BY distance",
            [query, *params, query, k],
        ).fetchall()
        return [self._dense_hit(r) for r in rows]

    @staticmethod
    def _dense_hit(row: DictRow) -> ChunkHit:
        return ChunkHit(
            chunk_id=str(row["id"]),
            file_id=row["file_id"],
            text=row["text"],
            attributes=row["attributes"],
            score=1.0 - float(row["distance"]),
        )

    def text_search(self, store: StoreRef, query: str, k: int, filters: Filter | None) -> list[ChunkHit]:
        where, params = self._where(store, filters)
        with self._db.connection() as conn:
            return self._bm25.search(conn, store.store_id, where, params, query, k)
