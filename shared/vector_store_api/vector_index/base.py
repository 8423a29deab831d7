"""The vector index interface every backend implements (pgvector, OpenSearch), and the registry
that finds the backend holding a store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Protocol, Sequence

from ..models.search import ComparisonFilter, CompoundFilter

if TYPE_CHECKING:  # numpy is imported where vectors are made, not by every API handler
    import numpy as np

Filter = ComparisonFilter | CompoundFilter


@dataclass(frozen=True)
class ChunkToIndex:
    chunk_index: int
    text: str
    token_count: int


@dataclass(frozen=True)
class ChunkHit:
    """One candidate chunk; `score` is backend-specific (cosine similarity or text rank)."""

    chunk_id: str
    file_id: str
    text: str
    attributes: dict[str, Any] | None
    score: float


@dataclass(frozen=True)
class StoreRef:
    """What an index needs to know about a store, including which backend holds it."""

    tenant_id: str
    store_id: str
    dimension: int
    provider_id: str = "pgvector"
    # About how many chunks the store holds (from the catalog), when known: lets a search choose
    # between an exact scan and the ANN index without counting first. Never trusted for results.
    chunk_estimate: int | None = field(default=None, compare=False)


class VectorIndex(Protocol):
    def ping(self) -> bool:
        """One cheap round trip, for readiness: False while the backend cannot be reached."""
        ...

    def prepare_store(self, store: StoreRef) -> None:
        """Create whatever the store needs (e.g. an index for its dimension). Idempotent."""

    def replace_file_chunks(
        self,
        store: StoreRef,
        file_id: str,
        attributes: dict[str, Any] | None,
        chunks: Sequence[ChunkToIndex],
        embeddings: np.ndarray,
    ) -> bool:
        """Replace the file's chunks in the store (idempotent). False if the file is no longer attached."""

    def update_attributes(self, store: StoreRef, file_id: str, attributes: dict[str, Any] | None) -> None: ...

    def delete_file_chunks(self, store: StoreRef, file_id: str) -> None: ...

    def delete_store(self, store: StoreRef) -> None: ...

    def file_chunk_texts(self, store: StoreRef, file_id: str) -> list[str]: ...

    def export_file_chunks(self, store: StoreRef, file_id: str) -> tuple[list[ChunkToIndex], np.ndarray]:
        """The file's chunks in order with their stored embeddings (to move a store between backends)."""

    def dense_search(
        self, store: StoreRef, vector: np.ndarray, k: int, filters: Filter | None
    ) -> list[ChunkHit]:
        """Exactly min(k, matching chunks) nearest chunks by cosine similarity, best first."""

    def text_search(self, store: StoreRef, query: str, k: int, filters: Filter | None) -> list[ChunkHit]:
        """Up to k full-text matches, best first."""


class VectorIndexes:
    """The configured backends by provider id. A store remembers the backend holding it
    (`StoreRef.provider_id`): callers ask `for_store(store)` and call that backend directly."""

    def __init__(self, backends: Mapping[str, VectorIndex], default: str) -> None:
        if default not in backends:
            raise ValueError(f"vector backend '{default}' is not configured (available: {', '.join(backends)})")
        self._backends = dict(backends)
        self.default = default

    @property
    def providers(self) -> tuple[str, ...]:
        """Configured backends, the default first."""
        return (self.default, *(name for name in self._backends if name != self.default))

    def ping_all(self) -> dict[str, bool]:
        return {name: backend.ping() for name, backend in self._backends.items()}

    def backend(self, provider_id: str) -> VectorIndex:
        return self._backends[provider_id]

    def for_store(self, store: StoreRef) -> VectorIndex:
        try:
            return self._backends[store.provider_id]
        except KeyError:
            raise RuntimeError(f"store {store.store_id} lives on '{store.provider_id}', which is not configured") from None
