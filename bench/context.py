"""One store under test: the corpus it holds, its id in the service, and the raw backend handle."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np

from .client import ApiClient
from .data import Corpus
from .raw import OpenSearchRaw, PgVectorRaw

Raw = Union[PgVectorRaw, OpenSearchRaw]


@dataclass
class StoreUnderTest:
    backend: str
    client: ApiClient
    store_id: str
    file_ids: list[str]
    corpus: Corpus
    raw: Raw
    exact_max: int  # EXACT_SEARCH_MAX_CHUNKS of the server
    queries: list[str] = field(default_factory=list)
    query_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    def matching(self, filtered: bool) -> int:
        return int(self.corpus.filter_mask().sum()) if filtered else self.corpus.size

    def service_path(self, filtered: bool) -> str:
        """What the service runs for a dense search: an exact scan up to EXACT_SEARCH_MAX_CHUNKS
        matching chunks, HNSW above (both backends follow the same rule)."""
        return "hnsw" if self.matching(filtered) > self.exact_max else "exact"

    def raw_dense(self, vector: np.ndarray, k: int, filtered: bool) -> list:
        """The raw query matching the service's plan for this search."""
        if self.service_path(filtered) == "hnsw":
            return self.raw.dense(vector, k, filtered)
        return self.raw.exact(vector, k, filtered)
