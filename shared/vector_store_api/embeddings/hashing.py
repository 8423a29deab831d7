"""A deterministic, offline, NON-semantic embedder for tests."""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from functools import lru_cache
from typing import Sequence

import numpy as np

_TOKEN_RE = re.compile(r"\w+")


@lru_cache(maxsize=1 << 18)
def _bucket(feature: str, dimension: int) -> tuple[int, float]:
    """Map a feature to (bucket, sign).

    blake2b rather than hash(): Python's str hash is salted per process, and the
    vectors must be identical across processes and machines.
    """
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    h = int.from_bytes(digest, "little")
    # Lowest bit picks the sign, the rest the bucket, so the two are independent.
    return (h >> 1) % dimension, (1.0 if h & 1 else -1.0)


def _features(text: str) -> Counter[str]:
    tokens = _TOKEN_RE.findall(text.lower())
    # A space never occurs inside a \w+ token, so bigrams cannot collide with unigrams.
    bigrams = [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    return Counter(tokens + bigrams)


class HashEmbedder:
    """Feature-hashing embedder: FOR TESTS ONLY, it captures no meaning.

    Lower-cased word tokens and word bigrams are hashed (signed, blake2b) into
    ``dimension`` buckets with 1 + log(tf) weights, then L2-normalised. Texts that
    share words get a higher cosine than texts that do not, which is enough to
    exercise search end to end without a model. Texts without any token map to
    the fixed unit vector e_0 so cosine similarity is always defined.
    """

    provider = "hash"

    def __init__(self, dimension: int = 384, model: str = "hash-v1") -> None:
        if dimension < 1:
            raise ValueError(f"dimension must be >= 1, got {dimension}")
        self.dimension = dimension
        self.model = model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for row, text in enumerate(texts):
            for feature, tf in _features(text).items():
                col, sign = _bucket(feature, self.dimension)
                rows.append(row)
                cols.append(col)
                vals.append(sign * (1.0 + math.log(tf)))
        n, dim = len(texts), self.dimension
        # bincount sums colliding features (and is much faster than np.add.at).
        flat = np.asarray(rows, dtype=np.int64) * dim + np.asarray(cols, dtype=np.int64)
        summed = np.bincount(flat, weights=np.asarray(vals, dtype=np.float64), minlength=n * dim)
        out = summed.reshape(n, dim).astype(np.float32)
        norms = np.linalg.norm(out, axis=1)
        # No tokens, or (rarely) features cancelling out exactly: fall back to e_0.
        empty = norms == 0
        out[empty, 0] = 1.0
        norms[empty] = 1.0
        out /= norms[:, None]
        return out
