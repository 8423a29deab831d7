"""Token-based sliding-window chunking, matching OpenAI's static chunking strategy.

Tokens come from tiktoken's "o200k_base" encoding. tiktoken reads the encoding
from TIKTOKEN_CACHE_DIR when set (needed on machines without internet access).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tiktoken

ENCODING_NAME = "o200k_base"
DEFAULT_MAX_TOKENS = 800
DEFAULT_OVERLAP = 400


@dataclass(frozen=True)
class Chunk:
    text: str
    token_count: int


class TextTooLong(ValueError):
    """The text has more tokens than allowed (checked before any chunk is built)."""

    def __init__(self, tokens: int, limit: int):
        super().__init__(f"text has {tokens} tokens; the limit is {limit}")
        self.tokens = tokens
        self.limit = limit


@functools.cache
def get_encoding() -> tiktoken.Encoding:
    """Load the encoding once; loading parses a multi-megabyte BPE file."""
    import tiktoken

    return tiktoken.get_encoding(ENCODING_NAME)


def _encode(text: str) -> list[int]:
    # encode_ordinary treats "<|endoftext|>" in user documents as plain text
    # instead of raising, and is the fastest encode variant.
    return get_encoding().encode_ordinary(text)


def count_tokens(text: str) -> int:
    return len(_encode(text))


def chunk_text(
    text: str,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    overlap: int = DEFAULT_OVERLAP,
    max_total_tokens: int | None = None,
) -> list[Chunk]:
    """Split `text` into windows of at most `max_tokens` tokens.

    Consecutive windows share exactly `overlap` tokens; the last window ends at
    the end of the text and may be shorter. Whitespace-only windows are skipped.
    The text is encoded once, so the cost is linear in its length. With
    `max_total_tokens`, a longer text raises TextTooLong.
    """
    _validate(max_tokens, overlap)
    tokens = _encode(text)
    if max_total_tokens is not None and len(tokens) > max_total_tokens:
        raise TextTooLong(len(tokens), max_total_tokens)
    encoding = get_encoding()
    chunks: list[Chunk] = []
    for start, end in _windows(len(tokens), max_tokens, max_tokens - overlap):
        window = tokens[start:end]
        # Decode bytes, not tokens: a window edge may split a multi-byte
        # character, whose stray bytes are dropped rather than shown as U+FFFD.
        chunk = encoding.decode_bytes(window).decode("utf-8", errors="ignore")
        if chunk.strip():
            chunks.append(Chunk(text=chunk, token_count=len(window)))
    return chunks


def _validate(max_tokens: int, overlap: int) -> None:
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    if not 0 <= overlap <= max_tokens // 2:
        raise ValueError(
            f"overlap must be between 0 and max_tokens // 2 ({max_tokens // 2}), got {overlap}"
        )


def _windows(n_tokens: int, size: int, step: int) -> list[tuple[int, int]]:
    """[start, end) token ranges; stops once a window reaches the end so that no
    window is contained in its predecessor."""
    windows: list[tuple[int, int]] = []
    for start in range(0, n_tokens, step):
        end = min(start + size, n_tokens)
        windows.append((start, end))
        if end == n_tokens:
            break
    return windows
