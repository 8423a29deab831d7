"""How the ranked lists of a search become one list of (hit, score in [0, 1]), per search mode.

- hybrid: weighted reciprocal-rank fusion. Each list (dense and keyword, per query) gives every
  chunk it ranks weight / (RRF_K + rank); the sum is divided by the best possible sum (rank 1 in
  every list), so a chunk ranked first everywhere scores 1.0, and with equal weights a chunk found
  by one of two lists scores at most 0.5. `score_threshold` keeps chunks with at least that
  fraction of the best possible rank evidence.
- vector: cosine similarity, clipped to [0, 1] (the best over the queries of a query list).
- keyword: BM25 relative to the query's best hit, which scores 1.0 (BM25 has no fixed scale).
"""

from __future__ import annotations

from typing import Callable, Sequence

from ..vector_index.base import ChunkHit

RRF_K = 60

Scored = list[tuple[ChunkHit, float]]


def reciprocal_rank_fusion(
    ranked_lists: Sequence[Sequence[ChunkHit]], weights: Sequence[float] | None = None, k: int = RRF_K
) -> Scored:
    """Fuse ranked lists into (hit, score in [0, 1]) pairs, best first (ties by first appearance)."""
    if not ranked_lists:
        return []
    weights = [1.0] * len(ranked_lists) if weights is None else list(weights)
    best_possible = sum(weights) / (k + 1)
    totals: dict[str, float] = {}
    hits: dict[str, ChunkHit] = {}
    for ranked, weight in zip(ranked_lists, weights, strict=True):
        for rank, hit in enumerate(ranked, start=1):
            totals[hit.chunk_id] = totals.get(hit.chunk_id, 0.0) + weight / (k + rank)
            hits.setdefault(hit.chunk_id, hit)
    fused = [(hits[chunk_id], min(1.0, total / best_possible)) for chunk_id, total in totals.items()]
    fused.sort(key=lambda pair: pair[1], reverse=True)  # stable: ties keep first-seen order
    return fused


def best_similarity(ranked_lists: Sequence[Sequence[ChunkHit]]) -> Scored:
    """Vector mode: each chunk's best cosine similarity, clipped to [0, 1]."""
    return _best_of(ranked_lists, lambda hit, _: hit.score)


def relative_to_best(ranked_lists: Sequence[Sequence[ChunkHit]]) -> Scored:
    """Keyword mode: each chunk's BM25 over its list's best, the best over the lists."""
    return _best_of(ranked_lists, lambda hit, ranked: hit.score / ranked[0].score if ranked[0].score > 0 else 0.0)


def _best_of(
    ranked_lists: Sequence[Sequence[ChunkHit]], score_of: Callable[[ChunkHit, Sequence[ChunkHit]], float]
) -> Scored:
    best: dict[str, tuple[ChunkHit, float]] = {}
    for ranked in ranked_lists:
        for hit in ranked:
            score = max(0.0, min(1.0, score_of(hit, ranked)))
            if hit.chunk_id not in best or score > best[hit.chunk_id][1]:
                best[hit.chunk_id] = (hit, score)
    return sorted(best.values(), key=lambda pair: pair[1], reverse=True)
