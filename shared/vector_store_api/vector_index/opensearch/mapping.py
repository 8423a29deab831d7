"""The chunk documents of the OpenSearch backend: index names, the mapping both modes share, a
chunk's document and the hit read back from it (see docs/opensearch-backend.md, "Layout")."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import ChunkHit, ChunkToIndex, StoreRef

ENGINES = ("lucene", "faiss")
# What a search reads back from _source (never the vector).
SEARCH_SOURCE = ["file_id", "text", "attributes"]


def index_name(prefix: str, engine: str, dimension: int) -> str:
    """One shared index per (engine, dimension): every store of that dimension lives in it."""
    return f"{prefix}-{engine}-{int(dimension)}"


def chunk_mappings(dimension: int, engine: str, m: int, ef_construction: int, ef_search: int) -> dict[str, Any]:
    """The mapping of a chunk index, as both modes have it (each adds its own fields)."""
    parameters: dict[str, Any] = {"m": m, "ef_construction": ef_construction}
    if engine == "faiss":
        parameters["ef_search"] = ef_search  # faiss reads it from the mapping; lucene takes k
    return {
        "dynamic": "strict",
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
                    "engine": engine,
                    "parameters": parameters,
                },
            },
            # The attributes as given (returned as is, not indexed) and as typed entries (filters.py).
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
    }


def chunk_key(store_id: str, file_id: str, chunk_index: int) -> str:
    """A chunk's stable id: the cluster-mode `_id`, the Serverless `chunk_key`, ChunkHit.chunk_id."""
    return f"{store_id}:{file_id}:{chunk_index}"


def chunk_document(
    store: StoreRef,
    file_id: str,
    chunk: ChunkToIndex,
    attributes: dict[str, Any] | None,
    attribute_entries: list[dict[str, Any]],
    vector: np.ndarray,
) -> dict[str, Any]:
    """A chunk's document (Serverless adds its key and generation)."""
    doc: dict[str, Any] = {
        "store_id": store.store_id,
        "tenant_id": store.tenant_id,
        "file_id": file_id,
        "chunk_index": chunk.chunk_index,
        "token_count": chunk.token_count,
        "text": chunk.text.replace("\x00", ""),
        "attributes": attributes,
        "attrs": attribute_entries,
    }
    # cosinesimil cannot index a zero (or non-finite) vector: such a chunk stays text-searchable
    # but is never a dense hit (pgvector ranks it last with NaN).
    if np.all(np.isfinite(vector)) and np.any(vector):
        doc["embedding"] = vector.tolist()
    return doc


def to_hit(hit: dict[str, Any], score: float) -> ChunkHit:
    source = hit["_source"]
    return ChunkHit(
        # Serverless ids are service-assigned and change with every write: use the stable key.
        chunk_id=source.get("chunk_key") or hit["_id"],
        file_id=source["file_id"],
        text=source["text"],
        attributes=source.get("attributes"),
        score=score,
    )
