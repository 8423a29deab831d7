"""Validate embedding configurations and build (shared) embedder instances."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from .base import Embedder
from .local import LOCAL_DIMENSION, LOCAL_MODEL
from .openai_compat import DEFAULT_OPENAI_MODEL, OPENAI_DEFAULT_DIMENSIONS, supports_dimensions

if TYPE_CHECKING:
    from ..settings import Settings

PROVIDERS = ("local", "hash", "openai")
HASH_MODEL = "hash-v1"
HASH_DEFAULT_DIMENSION = 384
HASH_MAX_DIMENSION = 4096
# pgvector's hard limit on a vector column; bounds dimensions of unknown compatible models.
MAX_DIMENSION = 16_000

_LOCAL_ALIASES = {LOCAL_MODEL: LOCAL_MODEL, "all-MiniLM-L6-v2": LOCAL_MODEL}

_cache: dict[tuple[str, str, int], Embedder] = {}
_cache_lock = threading.Lock()


def resolve_embedding_config(provider: str, model: str | None, dimension: int | None) -> tuple[str, int]:
    """Return the (model, dimension) to use, filling defaults; never loads a model.

    Raises ValueError with a user-facing message for unsupported combinations.
    """
    if dimension is not None and (isinstance(dimension, bool) or not isinstance(dimension, int)):
        raise ValueError(f"embedding dimension must be an integer, got {dimension!r}")
    if provider == "local":
        return _resolve_local(model, dimension)
    if provider == "hash":
        return _resolve_hash(model, dimension)
    if provider == "openai":
        return _resolve_openai(model, dimension)
    raise ValueError(f"unknown embedding provider {provider!r}; expected one of {', '.join(PROVIDERS)}")


def _resolve_local(model: str | None, dimension: int | None) -> tuple[str, int]:
    resolved = _LOCAL_ALIASES.get(model or LOCAL_MODEL)
    if resolved is None:
        raise ValueError(f"local embedding provider supports only model {LOCAL_MODEL!r}, got {model!r}")
    if dimension not in (None, LOCAL_DIMENSION):
        raise ValueError(f"model {LOCAL_MODEL!r} produces {LOCAL_DIMENSION}-dimensional embeddings, got {dimension}")
    return resolved, LOCAL_DIMENSION


def _resolve_hash(model: str | None, dimension: int | None) -> tuple[str, int]:
    if model not in (None, HASH_MODEL):
        raise ValueError(f"hash embedding provider supports only model {HASH_MODEL!r}, got {model!r}")
    dimension = HASH_DEFAULT_DIMENSION if dimension is None else dimension
    if not 1 <= dimension <= HASH_MAX_DIMENSION:
        raise ValueError(f"hash embedding dimension must be between 1 and {HASH_MAX_DIMENSION}, got {dimension}")
    return HASH_MODEL, dimension


def _resolve_openai(model: str | None, dimension: int | None) -> tuple[str, int]:
    model = model or DEFAULT_OPENAI_MODEL
    default = OPENAI_DEFAULT_DIMENSIONS.get(model)
    if default is None:
        # Unknown name: an OpenAI-compatible server's model; we cannot guess its size.
        if dimension is None:
            raise ValueError(f"embedding model {model!r} is not a known OpenAI model: specify its dimension")
        if not 1 <= dimension <= MAX_DIMENSION:
            raise ValueError(f"embedding dimension must be between 1 and {MAX_DIMENSION}, got {dimension}")
        return model, dimension
    if dimension is None:
        return model, default
    if supports_dimensions(model):
        if not 1 <= dimension <= default:
            raise ValueError(f"model {model!r} supports dimensions between 1 and {default}, got {dimension}")
        return model, dimension
    if dimension != default:
        raise ValueError(f"model {model!r} produces {default}-dimensional embeddings, got {dimension}")
    return model, dimension


def build_embedder(provider: str, model: str | None, dimension: int | None, settings: Settings) -> Embedder:
    """Return the shared embedder for this configuration, creating it on first use.

    One instance per (provider, model, dimension): a local model is loaded once per process.
    """
    model, dimension = resolve_embedding_config(provider, model, dimension)
    key = (provider, model, dimension)
    with _cache_lock:
        embedder = _cache.get(key)
        if embedder is None:
            # Construction is cheap (models load lazily), so holding the lock is fine.
            embedder = _create(provider, model, dimension, settings)
            _cache[key] = embedder
    return embedder


def _create(provider: str, model: str, dimension: int, settings: Settings) -> Embedder:
    if provider == "hash":
        from .hashing import HashEmbedder

        return HashEmbedder(dimension=dimension, model=model)
    if provider == "local":
        from .local import LocalEmbedder

        threads = settings.embedding_threads or max(1, (os.cpu_count() or 1) // max(1, settings.ingest_workers))
        return LocalEmbedder(
            settings.local_embedding_model_dir, model=model, batch_size=settings.embedding_batch_size, threads=threads
        )
    from .openai_compat import OpenAIEmbedder

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return OpenAIEmbedder(
        model=model,
        dimension=dimension,
        api_key=key,
        base_url=settings.openai_base_url,
    )


def clear_embedder_cache() -> None:
    """Forget all shared embedders (for tests)."""
    with _cache_lock:
        _cache.clear()
