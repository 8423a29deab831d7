"""Embeddings from the OpenAI API or any OpenAI-compatible /v1/embeddings endpoint."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from ..resilience import CircuitBreaker

if TYPE_CHECKING:  # the SDK loads on the first request
    from openai import OpenAI

DEFAULT_OPENAI_MODEL = "text-embedding-3-small"
# Native output sizes of the known models; other (compatible-server) models need an
# explicit dimension.
OPENAI_DEFAULT_DIMENSIONS: dict[str, int] = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
MAX_INPUTS_PER_REQUEST = 2048  # API limit on the number of inputs
# The API caps a request at ~300k tokens. We cannot count tokens offline (tiktoken
# downloads its tables), so budget characters instead: a token is almost always at
# least one character, hence 250k characters keeps a request under ~250k tokens.
MAX_CHARS_PER_REQUEST = 250_000


def _is_outage(error: BaseException) -> bool:
    """The endpoint cannot be reached or keeps failing (the SDK has already retried it)."""
    from openai import APIConnectionError, InternalServerError

    return isinstance(error, (APIConnectionError, InternalServerError))


def supports_dimensions(model: str) -> bool:
    """Only the text-embedding-3 family accepts the ``dimensions`` parameter."""
    return model.startswith("text-embedding-3-")


class OpenAIEmbedder:
    """Embeds through an OpenAI-compatible embeddings endpoint (openai SDK)."""

    provider = "openai"

    def __init__(
        self,
        model: str = DEFAULT_OPENAI_MODEL,
        dimension: int | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        batch_size: int = MAX_INPUTS_PER_REQUEST,
        max_chars_per_request: int = MAX_CHARS_PER_REQUEST,
    ) -> None:
        default = OPENAI_DEFAULT_DIMENSIONS.get(model)
        if dimension is None:
            if default is None:
                raise ValueError(f"embedding model {model!r} is unknown: an explicit dimension is required")
            dimension = default
        if dimension != default and default is not None and not supports_dimensions(model):
            raise ValueError(f"model {model!r} only produces {default}-dimensional embeddings")
        self.model = model
        self.dimension = dimension
        # Send `dimensions` only when asking a text-embedding-3 model for a shortened vector.
        self._dimensions_param = dimension if supports_dimensions(model) and dimension != default else None
        self.batch_size = max(1, min(batch_size, MAX_INPUTS_PER_REQUEST))
        self.max_chars_per_request = max_chars_per_request
        self._api_key = api_key
        self._base_url = base_url
        self._client: OpenAI | None = None
        self._lock = threading.Lock()
        self._breaker = CircuitBreaker("the embeddings endpoint")

    def _get_client(self) -> OpenAI:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self) -> OpenAI:
        from openai import OpenAI

        api_key = self._api_key
        if api_key is None:
            if self._base_url is None:
                raise RuntimeError("the openai embedding provider needs OPENAI_API_KEY to be set")
            # Self-hosted compatible servers often need no key, but the SDK insists on one.
            api_key = "unused"
        # Explicit values, so the SDK does not fall back to reading the environment itself.
        return OpenAI(api_key=api_key, base_url=self._base_url or OPENAI_DEFAULT_BASE_URL)

    @property
    def available(self) -> bool:
        return not self._breaker.tripped

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # The API rejects empty input strings.
        inputs = [t if t else " " for t in texts]
        for start, batch in _batches(inputs, self.batch_size, self.max_chars_per_request):
            out[start : start + len(batch)] = self._embed_batch(batch)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        # Defensive: OpenAI vectors are unit length already, compatible servers may not be.
        return out / np.where(norms == 0, 1.0, norms)

    def _embed_batch(self, batch: list[str]) -> np.ndarray:
        kwargs: dict[str, Any] = {"input": batch, "model": self.model, "encoding_format": "float"}
        if self._dimensions_param is not None:
            kwargs["dimensions"] = self._dimensions_param
        with self._breaker.guard(_is_outage):
            response = self._get_client().embeddings.create(**kwargs)
        items = sorted(response.data, key=lambda item: item.index)
        if len(items) != len(batch):
            raise RuntimeError(f"embeddings endpoint returned {len(items)} vectors for {len(batch)} inputs")
        vectors = np.asarray([item.embedding for item in items], dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            got = vectors.shape[1] if vectors.ndim == 2 else "ragged"
            raise RuntimeError(
                f"embedding model {self.model!r} returned {got}-dimensional vectors, expected {self.dimension}"
            )
        return vectors


def _batches(inputs: list[str], max_items: int, max_chars: int) -> Iterator[tuple[int, list[str]]]:
    """Yield (start index, batch) with <= max_items inputs and <= max_chars characters.

    A single input longer than max_chars still goes alone in its own request.
    """
    start, chars = 0, 0
    batch: list[str] = []
    for i, text in enumerate(inputs):
        if batch and (len(batch) >= max_items or chars + len(text) > max_chars):
            yield start, batch
            start, batch, chars = i, [], 0
        batch.append(text)
        chars += len(text)
    if batch:
        yield start, batch
