"""The ingest pipeline: parse -> chunk -> embed -> index -> settle the attachment.

Idempotent: re-running a job replaces the file's chunks, so a redelivered or resumed job never
duplicates anything. A job holds its attachment's lease while it runs (so no two jobs work on one
file, and the stuck-ingest sweep can tell a dead job from a live one), and always settles the
attachment (`completed` or `failed` with `last_error`) unless the error is transient and another
attempt will follow.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from ..blobstore.base import BlobStore
from ..catalog.ports import AttachmentRecords
from ..catalog.records import Attachment
from ..embeddings.base import Embedder
from ..errors import DependencyDown, IngestError, InvalidFile
from ..ids import now
from ..ingest.bounds import ParseLimits
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
        lease_seconds: float = 60.0,
        retry_seconds: float = 900.0,
        max_resumes: int = 3,
        parse_limits: ParseLimits | None = None,
    ):
        self._limits_for = limits_for
        self._usage = usage
        self._catalog = catalog
        self._indexes = indexes
        self._blobs = blobs
        self._embedder_for = embedder_for
        self._max_file_tokens = max_file_tokens
        self._lease_seconds = lease_seconds
        self._retry_seconds = retry_seconds
        self._max_resumes = max_resumes
        self._parse_limits = parse_limits or ParseLimits()

    def process(
        self,
        job: IngestJob,
        *,
        token: str | None = None,
        first_attempt_at: float | None = None,
        final_attempt: bool = True,
    ) -> IngestResult:
        """Run one attempt of a job. `token` names the job across its attempts (it holds the lease);
        `first_attempt_at` is when its first attempt started. A transient error is re-raised for the
        caller to retry, unless this is the final attempt or the job has been retried for
        `retry_seconds`: then the file fails with `server_error`."""
        token = token or uuid.uuid4().hex
        started = time.time()
        target = self._catalog.claim_ingest_target(
            job.tenant_id, job.vector_store_id, job.file_id, now(), token, self._lease_until()
        )
        if target is None:  # settled, detached, or another live job holds it
            return IngestResult("skipped")
        store = target.store.ref
        if target.resumes > self._max_resumes:
            message = f"Processing stopped unexpectedly {target.resumes} times before the file was finished."
            return self._fail(target, store, LastError(code="server_error", message=message))
        try:
            with self._lease_renewed(job, token):
                return self._ingest(target, store)
        except IngestError as error:
            return self._fail(target, store, LastError(code=error.code, message=error.message))
        except Exception as error:
            retried_for = started - (first_attempt_at if first_attempt_at is not None else started)
            if not final_attempt and retried_for < self._retry_seconds:
                raise
            log.exception("ingest failed", extra={"vector_store_id": job.vector_store_id, "file_id": job.file_id})
            message = INTERNAL_ERROR_MESSAGE
            if isinstance(error, DependencyDown):
                message = f"The file could not be processed: {error} (retried for {retried_for:.0f} s)."
            return self._fail(target, store, LastError(code="server_error", message=message))

    def _lease_until(self) -> int:
        return int(time.time() + self._lease_seconds)

    @contextmanager
    def _lease_renewed(self, job: IngestJob, token: str) -> Iterator[None]:
        """Renew the job's lease every third of its length while the job works. A renewal that fails
        (the database briefly down) is retried at the next beat; the lease outlives two misses."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self._lease_seconds / 3):
                try:
                    self._catalog.renew_lease(
                        job.tenant_id, job.vector_store_id, job.file_id, token, self._lease_until()
                    )
                except Exception:
                    log.debug("lease renewal failed", exc_info=True)

        renewer = threading.Thread(target=beat, name=f"lease-{job.file_id}", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()

    def _ingest(self, target: Attachment, store: StoreRef) -> IngestResult:
        data = self._blobs.get(target.blob_key)
        text = extract_text(target.filename, data, self._parse_limits)
        del data  # the text is all that is needed from here on
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
