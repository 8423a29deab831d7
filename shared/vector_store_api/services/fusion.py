"""Reciprocal-rank fusion, and the [0, 1] score it reports.

Each candidate list (dense and full-text, per query) contributes 1 / (RRF_K + rank) for every
chunk it ranks. The fused sum is divided by the best possible sum (rank 1 in every list), so:
- a chunk ranked first by every list scores 1.0;
- a chunk found by only one of two lists scores at most 0.5;
- `score_threshold` keeps chunks whose combined rank evidence is at least that fraction.
"""

from __future__ import annotations

from typing import Sequence

from ..backends.base import ChunkHit

RRF_K = 60


def reciprocal_rank_fusion(ranked_lists: Sequence[Sequence[ChunkHit]], k: int = RRF_K) -> list[tuple[ChunkHit, float]]:
    """Fuse ranked lists into (hit, score in [0, 1]) pairs, best first (ties by first appearance)."""
    if not ranked_lists:
        return []
    best_possible = len(ranked_lists) / (k + 1)
    totals: dict[str, float] = {}
    hits: dict[str, ChunkHit] = {}
    for ranked in ranked_lists:
        for rank, hit in enumerate(ranked, start=1):
            totals[hit.chunk_id] = totals.get(hit.chunk_id, 0.0) + 1.0 / (k + rank)
            hits.setdefault(hit.chunk_id, hit)
    fused = [(hits[chunk_id], min(1.0, total / best_possible)) for chunk_id, total in totals.items()]
    fused.sort(key=lambda pair: pair[1], reverse=True)  # stable: ties keep first-seen order
    return fused


def best_similarity(ranked_lists: Sequence[Sequence[ChunkHit]]) -> list[tuple[ChunkHit, float]]:
    """Without fusion (ranker `none`): each chunk's best cosine similarity, clipped to [0, 1]."""
    best: dict[str, tuple[ChunkHit, float]] = {}
    for ranked in ranked_lists:
        for hit in ranked:
            score = max(0.0, min(1.0, hit.score))
            if hit.chunk_id not in best or score > best[hit.chunk_id][1]:
                best[hit.chunk_id] = (hit, score)
    return sorted(best.values(), key=lambda pair: pair[1], reverse=True)
