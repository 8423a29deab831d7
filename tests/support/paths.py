"""Where things are: the repo, the sibling ../shared folder (tiktoken encodings, the ONNX model) and
scripts/opensearch_server.py. Material outside the repo is located here, in the test support, and
handed to the product through its settings; the product code never knows about it."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OFFLINE_ASSETS = REPO.parent / "shared"
TIKTOKEN_CACHE = OFFLINE_ASSETS / "tiktoken-cache"
OPENSEARCH_SCRIPT = REPO / "scripts" / "opensearch_server.py"

# The local ONNX embedding model (all-MiniLM-L6-v2): LOCAL_EMBEDDING_MODEL_DIR, else ../shared's copy.
MODEL_DIR = Path(os.environ.get("LOCAL_EMBEDDING_MODEL_DIR") or OFFLINE_ASSETS / "models" / "all-MiniLM-L6-v2-onnx")


def use_shared_tiktoken_cache() -> None:
    """TIKTOKEN_CACHE_DIR from ../shared when it is there and the variable is not set."""
    if TIKTOKEN_CACHE.is_dir():
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(TIKTOKEN_CACHE))


def offline_assets_env() -> None:
    """Point tiktoken and the local model at ../shared when present (and not set), as the Makefile does."""
    use_shared_tiktoken_cache()
    if (MODEL_DIR / "model.onnx").is_file():
        os.environ.setdefault("LOCAL_EMBEDDING_MODEL_DIR", str(MODEL_DIR))
