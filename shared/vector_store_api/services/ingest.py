"""The ingest pipeline: parse -> chunk -> embed -> index -> settle the attachment.

Idempotent: re-running a job replaces the file's chunks, so a redelivered or resumed job never
duplicates anything. A job always settles its attachment (`completed` or `failed` with
`last_error`) unless the error is transient and another attempt will follow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..blobstore.base import BlobStore
from ..catalog.ports import AttachmentRecords
from ..catalog.records import Attachment
from ..embeddings.base import Embedder
from ..errors import IngestError, InvalidFile
from ..ids import now
from ..ingest.chunking import TextTooLong, chunk_text
from ..ingest.parsers import extract_text
from ..models.vector_stores import LastError
from ..queue.base import IngestJob
from ..usage.recorder import UsageRecorder
from ..vector_index.base import ChunkToIndex, StoreRef, VectorIndexes
from .limits import Limits

log = logging.getLogger(__name__)

FLOAT32_BYTES = 4
INTERNAL_ERROR_MESSAGE = "An internal error occurred while processing the file."


@dataclass(frozen=True)
class IngestResult:
    status: str  # completed | failed | skipped
    chunks: int = 0
    tokens: int = 0


EmbedderFor = Callable[[str, str, int], Embedder]


class IngestPipeline:
    def __init__(
        self,
        catalog: AttachmentRecords,
        indexes: VectorIndexes,
        blobs: BlobStore,
        embedder_for: EmbedderFor,
        limits_for: Callable[[str], Limits],
        usage: UsageRecorder,
        *,
        max_file_tokens: int = 5_000_000,
    ):
        self._limits_for = limits_for
        self._usage = usage
        self._catalog = catalog
        self._indexes = indexes
        self._blobs = blobs
        self._embedder_for = embedder_for
        self._max_file_tokens = max_file_tokens

    def process(self, job: IngestJob, *, final_attempt: bool = True) -> IngestResult:
        """Run one job. Transient errors are re-raised unless this is the final attempt."""
        target = self._catalog.get_ingest_target(job.tenant_id, job.vector_store_id, job.file_id, now())
        if target is None or target.status != "in_progress":
            return IngestResult("skipped")
        store = target.store.ref
        try:
            return self._ingest(target, store)
        except IngestError as error:
            return self._fail(target, store, LastError(code=error.code, message=error.message))
        except Exception:
            if not final_attempt:
                raise
            log.exception("ingest failed", extra={"vector_store_id": job.vector_store_id, "file_id": job.file_id})
            return self._fail(target, store, LastError(code="server_error", message=INTERNAL_ERROR_MESSAGE))

    def _ingest(self, target: Attachment, store: StoreRef) -> IngestResult:
        data = self._blobs.get(target.blob_key)
        text = extract_text(target.filename, data)
        try:
            chunks = chunk_text(text, target.chunk_size, target.chunk_overlap, self._max_file_tokens)
        except TextTooLong as error:
            raise InvalidFile(
                f"File '{target.filename}' has {error.tokens} tokens; the limit is {error.limit} tokens per file."
            ) from None
        if not chunks:
            raise InvalidFile(f"File '{target.filename}' contains no extractable text.")
        usage = sum(len(c.text.encode("utf-8")) for c in chunks) + len(chunks) * store.dimension * FLOAT32_BYTES
        limits = self._limits_for(target.tenant_id)
        over_quota = self._catalog.reserve_chunks(
            target.tenant_id, store.store_id, target.file_id, len(chunks), usage,
            limits.quotas.max_chunks, limits.quotas.max_vector_store_chunks, limits.quotas.max_vector_store_bytes,
        )  # before embedding: a file over quota costs no embedding calls
        if over_quota:
            raise InvalidFile(f"File '{target.filename}' was not added: {over_quota}")
        config = target.store
        embedder = self._embedder_for(config.embedding_provider, config.embedding_model, config.embedding_dimension)
        vectors = self._embed(embedder, [c.text for c in chunks])
        to_index = [ChunkToIndex(i, c.text, c.token_count) for i, c in enumerate(chunks)]

        self._indexes.for_store(store).prepare_store(store)
        if not self._indexes.for_store(store).replace_file_chunks(store, target.file_id, target.attributes, to_index, vectors):
            return IngestResult("skipped")  # detached or deleted meanwhile
        # Before settling: once the file reads `completed`, its chunks must carry its current attributes.
        self._sync_attributes(target, store)
        settled = self._catalog.finish_attachment(
            target.tenant_id, store.store_id, target.file_id, "completed", usage, None
        )
        if not settled:  # cancelled meanwhile: drop what was indexed
            self._indexes.for_store(store).delete_file_chunks(store, target.file_id)
            return IngestResult("skipped")
        tokens = sum(c.token_count for c in chunks)
        self._usage.ingested(target.tenant_id, store.store_id, len(chunks), tokens, usage)
        return IngestResult("completed", chunks=len(chunks), tokens=tokens)

    @staticmethod
    def _embed(embedder: Embedder, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
        if vectors.shape != (len(texts), embedder.dimension):
            raise RuntimeError(f"embedder returned shape {vectors.shape}, expected {(len(texts), embedder.dimension)}")
        return vectors

    def _sync_attributes(self, target: Attachment, store: StoreRef) -> None:
        """Attributes updated while the file was processing must reach the indexed chunks."""
        attached, attributes = self._catalog.current_attributes(target.tenant_id, store.store_id, target.file_id)
        if attached and attributes != target.attributes:
            self._indexes.for_store(store).update_attributes(store, target.file_id, attributes)

    def _fail(self, target: Attachment, store: StoreRef, error: LastError) -> IngestResult:
        self._indexes.for_store(store).delete_file_chunks(store, target.file_id)
        self._catalog.finish_attachment(target.tenant_id, store.store_id, target.file_id, "failed", 0, error)
        self._usage.ingest_failed(error.code)
        return IngestResult("failed")
