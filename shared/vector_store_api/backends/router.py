"""Sends each index call to the backend that holds the store (a store remembers its backend)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .base import ChunkHit, ChunkToIndex, Filter, StoreRef, VectorIndex


class IndexRouter:
    def __init__(self, indexes: Mapping[str, VectorIndex], default: str):
        if default not in indexes:
            raise ValueError(f"vector backend '{default}' is not configured (available: {', '.join(indexes)})")
        self._indexes = dict(indexes)
        self.default = default

    @property
    def providers(self) -> tuple[str, ...]:
        """Configured backends, the default first."""
        return (self.default, *(name for name in self._indexes if name != self.default))

    def backend(self, provider_id: str) -> VectorIndex:
        return self._indexes[provider_id]

    def _of(self, store: StoreRef) -> VectorIndex:
        try:
            return self._indexes[store.provider_id]
        except KeyError:
            raise RuntimeError(f"store {store.store_id} lives on '{store.provider_id}', which is not configured") from None

    def prepare_store(self, store: StoreRef) -> None:
        self._of(store).prepare_store(store)

    def replace_file_chunks(
        self,
        store: StoreRef,
        file_id: str,
        attributes: dict[str, Any] | None,
        chunks: Sequence[ChunkToIndex],
        embeddings: np.ndarray,
    ) -> bool:
        return self._of(store).replace_file_chunks(store, file_id, attributes, chunks, embeddings)

    def update_attributes(self, store: StoreRef, file_id: str, attributes: dict[str, Any] | None) -> None:
        self._of(store).update_attributes(store, file_id, attributes)

    def delete_file_chunks(self, store: StoreRef, file_id: str) -> None:
        self._of(store).delete_file_chunks(store, file_id)

    def delete_store(self, store: StoreRef) -> None:
        self._of(store).delete_store(store)

    def file_chunk_texts(self, store: StoreRef, file_id: str) -> list[str]:
        return self._of(store).file_chunk_texts(store, file_id)

    def export_file_chunks(self, store: StoreRef, file_id: str) -> tuple[list[ChunkToIndex], np.ndarray]:
        return self._of(store).export_file_chunks(store, file_id)

    def dense_search(self, store: StoreRef, vector: np.ndarray, k: int, filters: Filter | None) -> list[ChunkHit]:
        return self._of(store).dense_search(store, vector, k, filters)

    def text_search(self, store: StoreRef, query: str, k: int, filters: Filter | None) -> list[ChunkHit]:
        return self._of(store).text_search(store, query, k, filters)
