"""The embedding provider interface."""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    provider: str
    model: str
    dimension: int

    @property
    def available(self) -> bool:
        """False while the provider's last call found it unreachable (readiness reports it)."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an array of shape (len(texts), dimension), each row unit length."""
        ...
