"""chunk_text / count_tokens with the real o200k_base encoding."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

# tiktoken cannot download here; point it at the shared cache (../shared next to
# the repo root) before the encoding is first loaded.
os.environ.setdefault(
    "TIKTOKEN_CACHE_DIR",
    str((Path(__file__).resolve().parents[2] / ".." / "shared" / "tiktoken-cache").resolve()),
)

import pytest  # noqa: E402

from vector_store_api.ingest.chunking import (  # noqa: E402
    Chunk,
    chunk_text,
    count_tokens,
    get_encoding,
)

WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
    "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu"
).split()


def ascii_text(n_words: int) -> str:
    """Deterministic English-ish ASCII text with sentences and paragraphs."""
    parts: list[str] = []
    for i in range(n_words):
        word = WORDS[(i * 7 + i // 13) % len(WORDS)]
        parts.append(word + ("." if i % 11 == 10 else ""))
        if i % 97 == 96:
            parts.append("\n\n")
    return " ".join(parts)


def tokens(text: str) -> list[int]:
    return get_encoding().encode_ordinary(text)


def decode(toks: list[int]) -> str:
    return get_encoding().decode_bytes(toks).decode("utf-8", errors="ignore")


@pytest.fixture(scope="module")
def long_text() -> str:
    text = ascii_text(3000)
    assert len(tokens(text)) > 2500
    return text


def test_count_tokens() -> None:
    assert count_tokens("") == 0
    assert count_tokens("hello world") == 2
    # Special-token text in user documents is ordinary text, not an error.
    assert count_tokens("<|endoftext|>") > 1


def test_chunk_is_frozen_dataclass() -> None:
    chunk = Chunk(text="a", token_count=1)
    with pytest.raises(AttributeError):
        chunk.text = "b"  # type: ignore[misc]


@pytest.mark.parametrize(("max_tokens", "overlap"), [(800, 400), (100, 0), (100, 50), (37, 5)])
def test_chunks_respect_max_tokens(long_text: str, max_tokens: int, overlap: int) -> None:
    chunks = chunk_text(long_text, max_tokens=max_tokens, overlap=overlap)
    assert len(chunks) > 1
    for chunk in chunks:
        assert 1 <= chunk.token_count <= max_tokens
        assert count_tokens(chunk.text) <= max_tokens


@pytest.mark.parametrize(("max_tokens", "overlap"), [(800, 400), (100, 50), (100, 10), (64, 0)])
def test_windows_match_token_slices(long_text: str, max_tokens: int, overlap: int) -> None:
    toks = tokens(long_text)
    step = max_tokens - overlap
    chunks = chunk_text(long_text, max_tokens=max_tokens, overlap=overlap)
    for i, chunk in enumerate(chunks):
        window = toks[i * step : i * step + max_tokens]
        assert chunk.text == decode(window)
        assert chunk.token_count == len(window)


@pytest.mark.parametrize(("max_tokens", "overlap"), [(800, 400), (100, 50), (100, 10)])
def test_overlap_is_exact(long_text: str, max_tokens: int, overlap: int) -> None:
    toks = tokens(long_text)
    step = max_tokens - overlap
    chunks = chunk_text(long_text, max_tokens=max_tokens, overlap=overlap)
    for i in range(len(chunks) - 1):
        shared = toks[(i + 1) * step : i * step + max_tokens]
        assert len(shared) == overlap
        shared_text = decode(shared)
        assert chunks[i].text.endswith(shared_text)
        assert chunks[i + 1].text.startswith(shared_text)
        # Re-encoding the chunk texts gives the same overlapping tokens.
        assert tokens(chunks[i].text)[-overlap:] == tokens(chunks[i + 1].text)[:overlap]


@pytest.mark.parametrize(("max_tokens", "overlap"), [(800, 400), (100, 50), (100, 0), (7, 3)])
def test_chunks_cover_whole_text(long_text: str, max_tokens: int, overlap: int) -> None:
    toks = tokens(long_text)
    step = max_tokens - overlap
    chunks = chunk_text(long_text, max_tokens=max_tokens, overlap=overlap)
    assert long_text.startswith(chunks[0].text)
    assert long_text.endswith(chunks[-1].text)
    # Rebuild the text: each chunk after the first contributes its non-overlap tail.
    rebuilt = chunks[0].text
    for i in range(1, len(chunks)):
        head = decode(toks[i * step : (i - 1) * step + max_tokens])
        assert chunks[i].text.startswith(head)
        rebuilt += chunks[i].text[len(head) :]
    assert rebuilt == long_text
    # Last window ends exactly at the end and is not inside the previous window.
    last_start = (len(chunks) - 1) * step
    assert last_start + chunks[-1].token_count == len(toks)
    if len(chunks) > 1:
        assert len(toks) > (len(chunks) - 2) * step + max_tokens


@pytest.mark.parametrize("n_words", [700, 900, 1200, 2000, 3001])
def test_default_chunk_count(n_words: int) -> None:
    text = ascii_text(n_words)
    n = count_tokens(text)
    chunks = chunk_text(text)  # defaults: 800 / 400
    if n <= 800:
        assert len(chunks) == 1
    else:
        assert len(chunks) == math.ceil((n - 800) / 400) + 1
    assert all(c.token_count <= 800 for c in chunks)


def test_exact_multiple_has_no_redundant_window() -> None:
    toks = tokens(ascii_text(2000))[:1200]  # n - max is an exact multiple of step
    text = decode(toks)
    n = count_tokens(text)
    assert n == 1200
    chunks = chunk_text(text)
    assert len(chunks) == 2  # [0, 800) and [400, 1200); no third window inside the second


def test_short_text_is_one_chunk() -> None:
    text = "Hello, world! This is short."
    assert chunk_text(text) == [Chunk(text=text, token_count=count_tokens(text))]


def test_text_of_exactly_max_tokens_is_one_chunk() -> None:
    text = decode(tokens(ascii_text(1000))[:800])
    n = count_tokens(text)
    assert n <= 800
    assert len(chunk_text(text, max_tokens=n, overlap=n // 2)) == 1


@pytest.mark.parametrize("text", ["", " ", "\n\n\t  \n", " " * 5000])
def test_whitespace_gives_no_chunks(text: str) -> None:
    assert chunk_text(text) == []
    assert chunk_text(text, max_tokens=4, overlap=2) == []


def test_multibyte_text_has_no_replacement_chars() -> None:
    text = ("東京は日本の首都です。😀🎉👩‍👩‍👧‍👦 한국어 텍스트 Ελληνικά ñandú 🇯🇵 " * 300).strip()
    for max_tokens, overlap in [(800, 400), (5, 2), (3, 1), (1, 0), (7, 0)]:
        chunks = chunk_text(text, max_tokens=max_tokens, overlap=overlap)
        assert chunks
        for chunk in chunks:
            assert "\ufffd" not in chunk.text
            assert chunk.token_count <= max_tokens
    # Large windows lose nothing: the first chunk is a clean prefix.
    first = chunk_text(text, max_tokens=100, overlap=50)[0].text
    assert text.startswith(first)


@pytest.mark.parametrize(
    ("max_tokens", "overlap"),
    [(0, 0), (-5, 0), (10, -1), (10, 6), (1, 1), (801, 401)],
)
def test_invalid_arguments(max_tokens: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        chunk_text("some text", max_tokens=max_tokens, overlap=overlap)


def test_boundary_arguments_are_valid() -> None:
    assert chunk_text("a b c d e f", max_tokens=1, overlap=0)
    assert chunk_text("a b c d e f", max_tokens=10, overlap=5)
    assert chunk_text("a b c d e f", max_tokens=4096, overlap=2048)


def test_million_tokens_is_fast() -> None:
    base = ascii_text(20_000)
    text = (base + "\n\n") * (1_000_000 // count_tokens(base) + 1)
    n = count_tokens(text)
    assert n >= 1_000_000
    started = time.perf_counter()
    chunks = chunk_text(text)
    elapsed = time.perf_counter() - started
    assert len(chunks) == math.ceil((n - 800) / 400) + 1
    # Not a hard timing assertion; printed for `pytest -s` to show it's linear.
    print(f"chunked {n} tokens into {len(chunks)} chunks in {elapsed:.2f}s")


def test_max_total_tokens_counts_the_text_not_the_overlapping_chunks():
    from vector_store_api.ingest.chunking import TextTooLong

    text = "word " * 3000
    n = count_tokens(text)  # auto chunks would sum to about twice this
    assert len(chunk_text(text, 800, 400, max_total_tokens=n)) > 1
    with pytest.raises(TextTooLong) as info:
        chunk_text(text, 800, 400, max_total_tokens=n - 1)
    assert info.value.tokens == n
