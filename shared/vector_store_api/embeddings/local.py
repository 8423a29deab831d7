"""Local ONNX embeddings (all-MiniLM-L6-v2 via fastembed), long texts pooled over windows."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Sequence, cast

import numpy as np

from ..request_budget import checkpoint

if TYPE_CHECKING:  # heavy imports stay inside the lazy loader
    from fastembed import TextEmbedding
    from fastembed.text.onnx_embedding import OnnxTextEmbedding
    from tokenizers import Encoding, Tokenizer

LOCAL_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
LOCAL_DIMENSION = 384
# The model was trained on at most 256 word pieces; leave room for [CLS] and [SEP].
WINDOW_TOKENS = 250


class LocalEmbedder:
    """Embeds with all-MiniLM-L6-v2 on CPU, using the whole text, not just its head.

    Each text is cut into windows of at most ``window_tokens`` word pieces (at word
    boundaries, using the model's own tokenizer); all windows of all texts are embedded
    in batches, then each text's window vectors are averaged, weighted by their token
    counts, and L2-normalised. A text that fits in one window is embedded as is, so it
    gets exactly fastembed's embedding.

    The model loads on first use, once (thread-safe). With ``model_dir`` it loads from
    that directory and works offline; without it fastembed downloads the model.
    """

    provider = "local"
    dimension = LOCAL_DIMENSION

    def __init__(
        self,
        model_dir: Path | None = None,
        model: str = LOCAL_MODEL,
        batch_size: int = 64,
        window_tokens: int = WINDOW_TOKENS,
        threads: int | None = None,
    ) -> None:
        """`threads`: ONNX Runtime threads per call (None: all cores). Several ingest workers
        embedding at once should share the cores rather than each take all of them."""
        if model != LOCAL_MODEL:
            raise ValueError(f"local embeddings support only {LOCAL_MODEL!r}, got {model!r}")
        if batch_size < 1 or window_tokens < 1:
            raise ValueError("batch_size and window_tokens must be >= 1")
        self.model = model
        self.model_dir = Path(model_dir) if model_dir is not None else None
        self.batch_size = batch_size
        self.window_tokens = window_tokens
        self.threads = threads
        self._lock = threading.Lock()
        self._model: TextEmbedding | None = None
        self._tokenizer: Tokenizer | None = None

    # -- loading -------------------------------------------------------------

    def _load(self) -> tuple[TextEmbedding, Tokenizer]:
        # Double-checked: the lock is only taken until the model is loaded.
        if self._model is None or self._tokenizer is None:
            with self._lock:
                if self._model is None or self._tokenizer is None:
                    self._model, self._tokenizer = self._load_unlocked()
        return self._model, self._tokenizer

    def _load_unlocked(self) -> tuple[TextEmbedding, Tokenizer]:
        from fastembed import TextEmbedding
        from tokenizers import Tokenizer

        if self.model_dir is not None:
            model = TextEmbedding(
                model_name=self.model, specific_model_path=str(self.model_dir), threads=self.threads
            )
            tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        else:
            model = TextEmbedding(model_name=self.model, threads=self.threads)
            # Copy fastembed's tokenizer: its truncation/padding settings must stay intact. fastembed
            # types `model.model` as its base class; for this model it is the ONNX one, which holds it.
            onnx_model = cast("OnnxTextEmbedding", model.model)
            if onnx_model.tokenizer is None:
                raise RuntimeError(f"fastembed loaded {self.model!r} without its tokenizer")
            tokenizer = Tokenizer.from_str(onnx_model.tokenizer.to_str())
        # We want every word piece of the text, un-padded, to cut windows ourselves.
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return model, tokenizer

    # -- windows -------------------------------------------------------------

    def windows(self, text: str) -> list[tuple[str, int]]:
        """Cut ``text`` into (substring, word-piece count) windows of <= window_tokens."""
        _, tokenizer = self._load()
        return self._windows(text, tokenizer.encode(text, add_special_tokens=False))

    def _windows(self, text: str, enc: Encoding) -> list[tuple[str, int]]:
        n = len(enc.ids)
        if n <= self.window_tokens:
            # The original text, untouched, so short texts match fastembed exactly.
            return [(text, max(n, 1))]
        word_ids, offsets = enc.word_ids, enc.offsets
        out: list[tuple[str, int]] = []
        start = 0
        while start < n:
            end = min(start + self.window_tokens, n)
            if end < n:
                end = _back_to_word_start(word_ids, start, end)
            # Cut the ORIGINAL text, so re-tokenising the window gives the same pieces.
            out.append((text[offsets[start][0] : offsets[end - 1][1]], end - start))
            start = end
        return out

    # -- embedding -----------------------------------------------------------

    available = True  # in-process: nothing to reach

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model, tokenizer = self._load()
        owners: list[int] = []
        windows: list[str] = []
        weights: list[int] = []
        # encode_batch tokenises in parallel (Rust threads).
        encodings = tokenizer.encode_batch(list(texts), add_special_tokens=False)
        for i, (text, enc) in enumerate(zip(texts, encodings, strict=True)):
            for window, count in self._windows(text, enc):
                owners.append(i)
                windows.append(window)
                weights.append(count)
        vectors = self._embed_windows(model, windows, weights)
        return _pool(vectors, np.asarray(owners), np.asarray(weights, dtype=np.float32), len(texts))

    def _embed_windows(self, model: TextEmbedding, windows: list[str], lengths: list[int]) -> np.ndarray:
        # Batch windows of similar length together: less padding, same results.
        order = np.argsort(np.asarray(lengths), kind="stable")
        embedded = model.embed([windows[j] for j in order], batch_size=self.batch_size)
        out = np.empty((len(windows), self.dimension), dtype=np.float32)
        for j, vector in zip(order, embedded, strict=True):
            checkpoint()  # between the model's batches: a stopped request or job stops here
            out[j] = vector
        return out


def _back_to_word_start(word_ids: list[int | None], start: int, end: int) -> int:
    """Move ``end`` back so the window does not split a word (unless the word is huge)."""
    cut = end
    while cut > start and word_ids[cut] is not None and word_ids[cut] == word_ids[cut - 1]:
        cut -= 1
    return cut if cut > start else end


def _pool(vectors: np.ndarray, owners: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Token-count-weighted mean of each text's window vectors, L2-normalised."""
    out = np.zeros((n, vectors.shape[1]), dtype=np.float32)
    np.add.at(out, owners, vectors * weights[:, None])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)
