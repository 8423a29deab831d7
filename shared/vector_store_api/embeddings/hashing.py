"""A deterministic, offline, NON-semantic embedder for tests."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from functools import lru_cache
from typing import Sequence

import numpy as np

_TOKEN_RE = re.compile(r"\w+")


@lru_cache(maxsize=1 << 18)
def _bucket(feature: str, dimension: int) -> int:
    """Map a feature to 2 * bucket + (1 if its sign is negative else 0).

    blake2b rather than hash(): Python's str hash is salted per process, and the
    vectors must be identical across processes and machines.
    """
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    h = int.from_bytes(digest, "little")
    # Lowest bit picks the sign, the rest the bucket, so the two are independent.
    return 2 * ((h >> 1) % dimension) + (0 if h & 1 else 1)


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

    available = True  # in-process: nothing to reach

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        n, dim = len(texts), self.dimension
        summed = np.zeros((n, dim), dtype=np.float64)
        for row, text in enumerate(texts):
            counts = _features(text)
            if not counts:
                continue
            codes = np.fromiter((_bucket(feature, dim) for feature in counts), dtype=np.int64, count=len(counts))
            weights = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
            weights[codes & 1 == 1] *= -1.0
            # bincount sums colliding features (and is much faster than np.add.at).
            summed[row] = np.bincount(codes >> 1, weights=weights, minlength=dim)
        out = summed.astype(np.float32)
        norms = np.linalg.norm(out, axis=1)
        # No tokens, or (rarely) features cancelling out exactly: fall back to e_0.
        empty = norms == 0
        out[empty, 0] = 1.0
        norms[empty] = 1.0
        out /= norms[:, None]
        return out
