from __future__ import annotations

import pytest

from vector_store_api.services.fusion import RRF_K, best_similarity, reciprocal_rank_fusion
from vector_store_api.vector_index.base import ChunkHit


def hits(*ids: str, score: float = 0.0) -> list[ChunkHit]:
    return [ChunkHit(chunk_id=i, file_id="file-" + i, text=i, attributes=None, score=score) for i in ids]


def test_first_in_every_list_scores_one():
    fused = reciprocal_rank_fusion([hits("a", "b"), hits("a", "c")])
    assert fused[0][0].chunk_id == "a" and fused[0][1] == pytest.approx(1.0)


def test_scores_are_normalised_rrf_and_sorted():
    fused = dict((h.chunk_id, s) for h, s in reciprocal_rank_fusion([hits("a", "b"), hits("b", "c")]))
    best = 2 / (RRF_K + 1)
    assert fused["b"] == pytest.approx((1 / (RRF_K + 2) + 1 / (RRF_K + 1)) / best)
    assert fused["a"] == pytest.approx((1 / (RRF_K + 1)) / best)  # found by one of two lists: <= 0.5
    assert fused["c"] == pytest.approx((1 / (RRF_K + 2)) / best)
    ordered = [s for _, s in reciprocal_rank_fusion([hits("a", "b"), hits("b", "c")])]
    assert ordered == sorted(ordered, reverse=True)
    assert all(0 <= s <= 1 for s in ordered)


def test_no_lists_and_empty_lists():
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], []]) == []


def test_best_similarity_keeps_the_max_and_clips():
    fused = best_similarity([hits("a", score=0.4) + hits("b", score=-0.2), hits("a", score=0.9)])
    assert [(h.chunk_id, s) for h, s in fused] == [("a", 0.9), ("b", 0.0)]
