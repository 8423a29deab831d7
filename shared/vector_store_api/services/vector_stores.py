"""Vector stores, their files and file batches."""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

from ..blobstore.base import BlobStore
from ..catalog.ports import VectorStoreCatalog
from ..catalog.records import NewAttachment, StoreConfig
from ..errors import InsufficientQuota, InvalidRequest, NotFound, not_found, shown
from ..ids import FILE_BATCH_PREFIX, FILE_PREFIX, VECTOR_STORE_PREFIX, check_id, new_id, now
from ..ingest.bounds import ParseLimits
from ..ingest.parsers import extract_text
from ..models.admin import VectorStoreStats
from ..models.common import Page, PageRequest, resolve_chunking
from ..models.files import FileScope
from ..models.vector_stores import (
    BatchFileParam,
    CreateFileBatchRequest,
    CreateVectorStoreFileRequest,
    CreateVectorStoreRequest,
    FileContent,
    FileContentPage,
    LastError,
    UpdateVectorStoreRequest,
    VectorStore,
    VectorStoreDeleted,
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreFileDeleted,
)
from ..queue.base import IngestJob, IngestQueue
from ..vector_index.base import StoreRef, VectorIndexes
from .limits import Limits, quota_checked

log = logging.getLogger(__name__)

ResolveEmbedding = Callable[[str | None, int | None], tuple[str, str, int]]


def expired_error(store_id: str) -> InvalidRequest:
    return InvalidRequest(f"Vector store '{shown(store_id)}' has expired", param="vector_store_id", code="expired")


class VectorStoreService:
    def __init__(
        self,
        catalog: VectorStoreCatalog,
        indexes: VectorIndexes,
        blobs: BlobStore,
        queue: IngestQueue,
        resolve_embedding: ResolveEmbedding,
        provider_ids: Sequence[str],
        limits_for: Callable[[str], Limits],
        *,
        parse_limits: ParseLimits | None = None,
    ):
        self._limits_for = limits_for
        self._parse_limits = parse_limits or ParseLimits()
        self._catalog = catalog
        self._indexes = indexes
        self._blobs = blobs
        self._queue = queue
        self._resolve_embedding = resolve_embedding
        self._provider_ids = tuple(provider_ids)

    # --------------------------------------------------------------- stores
    def create(self, tenant_id: str, request: CreateVectorStoreRequest) -> VectorStore:
        try:
            provider, model, dimension = self._resolve_embedding(request.embedding_model, request.embedding_dimension)
        except ValueError as error:
            raise InvalidRequest(str(error), param="embedding_model", code="invalid_value") from None
        provider_id = request.provider_id or self._provider_ids[0]
        if provider_id not in self._provider_ids:
            raise InvalidRequest(
                f"Invalid 'provider_id': '{provider_id}'. Available: {', '.join(self._provider_ids)}.",
                param="provider_id",
                code="invalid_value",
            )
        file_ids = _unique(request.file_ids or [])
        for file_id in file_ids:
            check_id(file_id, FILE_PREFIX, "file_ids")
        self._require_files(tenant_id, file_ids, "file_ids")
        max_files = self._limits_for(tenant_id).quotas.max_vector_store_files if file_ids else 0
        if max_files and len(file_ids) > max_files:  # checked before the store exists: nothing half-made
            raise InsufficientQuota(
                f"Vector store file quota exceeded: {len(file_ids)} files given, a vector store holds at most"
                f" {max_files}. Nothing was created.",
                param="file_ids",
            )

        store_id = new_id(VECTOR_STORE_PREFIX)
        created = now()
        self._catalog.insert_store(
            tenant_id,
            store_id,
            created,
            request.name or "",
            request.description,
            request.metadata,
            request.expires_after.days if request.expires_after else None,
            provider,
            model,
            dimension,
            provider_id,
        )
        self._indexes.backend(provider_id).prepare_store(StoreRef(tenant_id, store_id, dimension, provider_id))
        if file_ids:
            chunking = resolve_chunking(request.chunking_strategy)
            entries = [NewAttachment(file_id, None, chunking) for file_id in file_ids]
            self._enqueue(tenant_id, store_id, self._catalog.attach(tenant_id, store_id, entries, created))
        return self.retrieve(tenant_id, store_id)

    def list(
        self,
        tenant_id: str,
        page: PageRequest,
        only: frozenset[str] | None = None,
    ) -> Page[VectorStore]:
        """`only`: the stores a scoped key may see."""
        for name, cursor in (("after", page.after), ("before", page.before)):
            if cursor is not None:
                check_id(cursor, VECTOR_STORE_PREFIX, name)
        return self._catalog.list_stores(tenant_id, page, now(), only)

    def stats(self, tenant_id: str, page: PageRequest) -> Page[VectorStoreStats]:
        """Size and file counts of each store of a tenant (for its admins)."""
        for name, cursor in (("after", page.after), ("before", page.before)):
            if cursor is not None:
                check_id(cursor, VECTOR_STORE_PREFIX, name)
        return self._catalog.store_stats(tenant_id, page)

    def retrieve(self, tenant_id: str, store_id: str) -> VectorStore:
        check_id(store_id, VECTOR_STORE_PREFIX, "vector_store_id")
        store = self._catalog.get_store(tenant_id, store_id, now())
        if store is None:
            raise not_found("vector store", store_id, param="vector_store_id")
        return store

    def update(self, tenant_id: str, store_id: str, request: UpdateVectorStoreRequest) -> VectorStore:
        current = self.retrieve(tenant_id, store_id)
        given = request.model_fields_set
        changes: dict[str, Any] = {}
        if "name" in given:
            changes["name"] = request.name or ""
        if "metadata" in given:
            changes["metadata"] = request.metadata
        if "expires_after" in given:
            if current.status == "expired":
                raise expired_error(store_id)
            changes["expires_after_days"] = request.expires_after.days if request.expires_after else None
            # The new policy counts from now, as any activity would.
            changes["last_active_at"] = now()
        self._catalog.update_store(tenant_id, store_id, changes)
        return self.retrieve(tenant_id, store_id)

    def delete(self, tenant_id: str, store_id: str) -> VectorStoreDeleted:
        config = self.store_config(tenant_id, store_id)
        self._catalog.delete_store(tenant_id, store_id)
        self._indexes.for_store(config.ref).delete_store(config.ref)
        return VectorStoreDeleted(id=store_id)

    def store_config(self, tenant_id: str, store_id: str, *, usable: bool = False) -> StoreConfig:
        """The store's configuration; with `usable`, an expired store is an error."""
        check_id(store_id, VECTOR_STORE_PREFIX, "vector_store_id")
        config = self._catalog.get_store_config(tenant_id, store_id, now())
        if config is None:
            raise not_found("vector store", store_id, param="vector_store_id")
        if usable and config.expired:
            raise expired_error(store_id)
        return config

    def expire_stores(self) -> int:
        """Detach the files of expired stores (their status already reads `expired`)."""
        expired = self._catalog.expired_stores_with_files(now())
        for tenant_id, store_id in expired:
            config = self._catalog.get_store_config(tenant_id, store_id, now())
            self._catalog.detach_all(tenant_id, store_id)
            if config is not None:
                self._indexes.for_store(config.ref).delete_store(config.ref)
        return len(expired)

    # ---------------------------------------------------------------- files
    def attach(
        self, tenant_id: str, store_id: str, request: CreateVectorStoreFileRequest, scope: FileScope | None = None
    ) -> VectorStoreFile:
        """`scope`: the Files the caller may see; it may attach only those."""
        self.store_config(tenant_id, store_id, usable=True)
        check_id(request.file_id, FILE_PREFIX, "file_id")
        existing = self._catalog.get_attachment(tenant_id, store_id, request.file_id)
        if existing is not None:
            return existing  # attaching twice returns the existing object, counts unchanged
        self._require_files(tenant_id, [request.file_id], "file_id", scope)
        entry = NewAttachment(request.file_id, request.attributes, resolve_chunking(request.chunking_strategy))
        max_files = self._limits_for(tenant_id).quotas.max_vector_store_files
        with quota_checked("file_id"):
            attached = self._catalog.attach(tenant_id, store_id, [entry], now(), max_files)
        self._enqueue(tenant_id, store_id, attached)
        return self.retrieve_file(tenant_id, store_id, request.file_id)

    def list_files(
        self,
        tenant_id: str,
        store_id: str,
        status: str | None,
        page: PageRequest,
        batch_id: str | None = None,
    ) -> Page[VectorStoreFile]:
        if batch_id is None:
            self.store_config(tenant_id, store_id)
        for name, cursor in (("after", page.after), ("before", page.before)):
            if cursor is not None:
                check_id(cursor, FILE_PREFIX, name)
        try:
            return self._catalog.list_attachments(tenant_id, store_id, status, page, batch_id)
        except LookupError as error:
            name, value = error.args
            raise InvalidRequest(
                f"Invalid '{name}': no file with id '{value}' was ever in this list.", param=name
            ) from None

    def retrieve_file(self, tenant_id: str, store_id: str, file_id: str) -> VectorStoreFile:
        check_id(store_id, VECTOR_STORE_PREFIX, "vector_store_id")
        check_id(file_id, FILE_PREFIX, "file_id")
        attachment = self._catalog.get_attachment(tenant_id, store_id, file_id)
        if attachment is None:
            self.store_config(tenant_id, store_id)  # a missing store is reported as such
            raise NotFound(f"No file found with id '{shown(file_id)}' in vector store '{shown(store_id)}'.", param="file_id")
        return attachment

    def update_file(self, tenant_id: str, store_id: str, file_id: str, attributes: dict[str, Any] | None) -> VectorStoreFile:
        config = self.store_config(tenant_id, store_id)
        self.retrieve_file(tenant_id, store_id, file_id)
        updated = self._catalog.update_attributes(tenant_id, store_id, file_id, attributes)
        if updated is None:
            raise NotFound(f"No file found with id '{shown(file_id)}' in vector store '{shown(store_id)}'.", param="file_id")
        self._indexes.for_store(config.ref).update_attributes(config.ref, file_id, attributes)
        return updated

    def detach(self, tenant_id: str, store_id: str, file_id: str) -> VectorStoreFileDeleted:
        config = self.store_config(tenant_id, store_id)
        check_id(file_id, FILE_PREFIX, "file_id")
        if not self._catalog.detach(tenant_id, store_id, file_id):
            raise NotFound(f"No file found with id '{shown(file_id)}' in vector store '{shown(store_id)}'.", param="file_id")
        self._indexes.for_store(config.ref).delete_file_chunks(config.ref, file_id)
        return VectorStoreFileDeleted(id=file_id)

    def file_content(self, tenant_id: str, store_id: str, file_id: str) -> FileContentPage:
        """The parsed text of a processed file (empty while it is processing or if it failed)."""
        attachment = self.retrieve_file(tenant_id, store_id, file_id)
        if attachment.status != "completed":
            return FileContentPage(data=[])
        stored = self._catalog.get_file(tenant_id, file_id, now())
        if stored is None:
            raise not_found("file", file_id, param="file_id")
        text = extract_text(stored.object.filename, self._blobs.get(stored.blob_key), self._parse_limits)
        return FileContentPage(data=[FileContent(text=text)])

    # -------------------------------------------------------------- batches
    def create_batch(
        self, tenant_id: str, store_id: str, request: CreateFileBatchRequest, scope: FileScope | None = None
    ) -> VectorStoreFileBatch:
        """`scope`: the Files the caller may see; a batch naming any other attaches nothing (404)."""
        self.store_config(tenant_id, store_id, usable=True)
        entries = _unique_entries(request.entries())
        for entry in entries:
            check_id(entry.file_id, FILE_PREFIX, "file_ids" if request.file_ids is not None else "files")
        self._require_files(
            tenant_id, [e.file_id for e in entries], "file_ids" if request.file_ids else "files", scope
        )
        batch_id = new_id(FILE_BATCH_PREFIX)
        attachments = [
            NewAttachment(e.file_id, e.attributes, resolve_chunking(e.chunking_strategy)) for e in entries
        ]
        max_files = self._limits_for(tenant_id).quotas.max_vector_store_files
        with quota_checked("file_ids"):
            created = self._catalog.create_batch(tenant_id, store_id, batch_id, attachments, now(), max_files)
        self._enqueue(tenant_id, store_id, created)
        return self.retrieve_batch(tenant_id, store_id, batch_id)

    def retrieve_batch(self, tenant_id: str, store_id: str, batch_id: str) -> VectorStoreFileBatch:
        check_id(store_id, VECTOR_STORE_PREFIX, "vector_store_id")
        check_id(batch_id, FILE_BATCH_PREFIX, "batch_id")
        batch = self._catalog.get_batch(tenant_id, store_id, batch_id)
        if batch is None:
            self.store_config(tenant_id, store_id)
            raise NotFound(
                f"No file batch found with id '{shown(batch_id)}' in vector store '{shown(store_id)}'.", param="batch_id"
            )
        return batch

    def cancel_batch(self, tenant_id: str, store_id: str, batch_id: str) -> VectorStoreFileBatch:
        config = self.store_config(tenant_id, store_id)
        self.retrieve_batch(tenant_id, store_id, batch_id)
        ref = config.ref
        for file_id in self._catalog.cancel_batch(tenant_id, store_id, batch_id):
            self._indexes.for_store(ref).delete_file_chunks(ref, file_id)  # a worker may have indexed part of it already
        return self.retrieve_batch(tenant_id, store_id, batch_id)

    def list_batch_files(
        self,
        tenant_id: str,
        store_id: str,
        batch_id: str,
        status: str | None,
        page: PageRequest,
    ) -> Page[VectorStoreFile]:
        self.retrieve_batch(tenant_id, store_id, batch_id)
        return self.list_files(tenant_id, store_id, status, page, batch_id=batch_id)

    # -------------------------------------------------------------- helpers
    def _require_files(
        self, tenant_id: str, file_ids: Sequence[str], param: str, scope: FileScope | None = None
    ) -> None:
        if not file_ids:
            return
        found = self._catalog.existing_file_ids(tenant_id, file_ids, now(), scope)
        missing = [file_id for file_id in file_ids if file_id not in found]
        if missing:
            raise not_found("file", missing[0], param=param)

    def _enqueue(self, tenant_id: str, store_id: str, file_ids: Sequence[str]) -> None:
        if not file_ids:
            return
        try:
            self._queue.enqueue([IngestJob(tenant_id, store_id, file_id) for file_id in file_ids])
        except Exception:
            # Never leave a file in progress with no work queued for it.
            error = LastError(code="server_error", message="The file could not be queued for processing.")
            for file_id in file_ids:
                self._catalog.finish_attachment(tenant_id, store_id, file_id, "failed", 0, error)
            raise


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _unique_entries(entries: Sequence[BatchFileParam]) -> list[BatchFileParam]:
    by_id: dict[str, BatchFileParam] = {}
    for entry in entries:
        by_id.setdefault(entry.file_id, entry)
    return list(by_id.values())
