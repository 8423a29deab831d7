"""KeywordRewriter and build_rewriter (ChatRewriter over HTTP is tested in test_embeddings.py)."""

from __future__ import annotations

import pytest

from vector_store_api.services.query_rewrite import (
    ChatRewriter,
    KeywordRewriter,
    QueryRewriter,
    build_rewriter,
)
from vector_store_api.settings import Settings


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("I'd like to know the height of the main office building", "height main office building"),
        ("What is the company\u2019s parental-leave policy? Please tell me!", "company parental leave policy"),
        ("Budget 2024, budget 2025 and BUDGET 2024", "budget 2024 2025"),
        ("Can you explain how the VPN works?", "vpn works"),
        ("office   building,office-building", "office building"),
        ("O'Neill's report", "oneill report"),
    ],
)
def test_keyword_rewrite(query: str, expected: str) -> None:
    assert KeywordRewriter().rewrite(query) == expected


@pytest.mark.parametrize("query", ["  what is the  ", " ?!? ", ""])
def test_keyword_rewrite_keeps_original_when_nothing_left(query: str) -> None:
    assert KeywordRewriter().rewrite(query) == query.strip()


def test_keyword_rewrite_is_deterministic() -> None:
    query = "Tell me about the travel expense limits for international trips"
    assert KeywordRewriter().rewrite(query) == KeywordRewriter().rewrite(query) == (
        "travel expense limits international trips"
    )


def test_build_rewriter_default_is_keyword() -> None:
    rewriter: QueryRewriter = build_rewriter(Settings(query_rewrite_model=None))
    assert isinstance(rewriter, KeywordRewriter)


def test_build_rewriter_uses_chat_model_when_configured() -> None:
    settings = Settings(query_rewrite_model="gpt-4o-mini", openai_api_key="sk-test", openai_base_url="http://x/v1")
    rewriter = build_rewriter(settings)
    assert isinstance(rewriter, ChatRewriter)
    assert rewriter.model == "gpt-4o-mini"
