"""What the services need from the system of record: one Protocol per kind of object.

`Catalog` (PostgreSQL) implements them all; a service names only the ones it uses, so it can be
tested against any implementation and an editor can follow each call.
"""

from __future__ import annotations

from typing import Any, Iterable, Literal, Protocol, Sequence

from ..models.admin import QuotaUsage, VectorStoreStats
from ..models.common import Page
from ..models.files import FileObject, FileScope
from ..models.vector_stores import LastError, VectorStore, VectorStoreFile, VectorStoreFileBatch
from ..vector_index.base import StoreRef
from .paging import PageRequest
from .records import Attachment, NewAttachment, StoreConfig, StoredFile
from .responses import StoredResponse


class FileRecords(Protocol):
    """Files: the `/v1/files` objects."""

    def insert_file(
        self,
        tenant_id: str,
        file: FileObject,
        blob_key: str,
        max_files: int = 0,
        max_bytes: int = 0,
        source: str | None = None,
        uploaded_by: str | None = None,
    ) -> bool: ...

    def file_from_source(self, tenant_id: str, source: str) -> FileObject | None: ...

    def get_file(self, tenant_id: str, file_id: str, now: int, scope: FileScope | None = None) -> StoredFile | None: ...

    def existing_file_ids(
        self, tenant_id: str, file_ids: Sequence[str], now: int, scope: FileScope | None = None
    ) -> set[str]: ...

    def list_files(
        self, tenant_id: str, purpose: str | None, page: PageRequest, now: int, scope: FileScope | None = None
    ) -> Page[FileObject]: ...

    def delete_file(
        self, tenant_id: str, file_id: str, scope: FileScope | None = None
    ) -> tuple[str, list[StoreRef]] | None: ...

    def expired_files(self, now: int, limit: int = 500) -> list[tuple[str, str]]: ...

    def searchable_filenames(self, tenant_id: str, store_id: str, file_ids: Iterable[str]) -> dict[str, str]: ...


class StoreRecords(Protocol):
    """Vector stores."""

    def insert_store(
        self,
        tenant_id: str,
        store_id: str,
        created_at: int,
        name: str,
        description: str | None,
        metadata: dict[str, str] | None,
        expires_after_days: int | None,
        embedding_provider: str,
        embedding_model: str,
        embedding_dimension: int,
        provider_id: str,
    ) -> None: ...

    def get_store(self, tenant_id: str, store_id: str, now: int) -> VectorStore | None: ...

    def get_store_config(self, tenant_id: str, store_id: str, now: int) -> StoreConfig | None: ...

    def list_stores(
        self,
        tenant_id: str,
        page: PageRequest,
        now: int,
        only: Iterable[str] | None = None,
    ) -> Page[VectorStore]: ...

    def store_stats(self, tenant_id: str, page: PageRequest) -> Page[VectorStoreStats]: ...

    def update_store(self, tenant_id: str, store_id: str, changes: dict[str, Any]) -> bool: ...

    def touch_store(self, tenant_id: str, store_id: str, now: int) -> None: ...

    def delete_store(self, tenant_id: str, store_id: str) -> bool: ...

    def expired_stores_with_files(self, now: int, limit: int = 100) -> list[tuple[str, str]]: ...


class AttachmentRecords(Protocol):
    """A store's files and their ingest progress."""

    def attach(
        self, tenant_id: str, store_id: str, entries: Sequence[NewAttachment], now: int, max_store_files: int = 0
    ) -> list[str]: ...

    def get_attachment(self, tenant_id: str, store_id: str, file_id: str) -> VectorStoreFile | None: ...

    def list_attachments(
        self,
        tenant_id: str,
        store_id: str,
        status: str | None,
        page: PageRequest,
        batch_id: str | None = None,
    ) -> Page[VectorStoreFile]: ...

    def update_attributes(
        self, tenant_id: str, store_id: str, file_id: str, attributes: dict[str, Any] | None
    ) -> VectorStoreFile | None: ...

    def detach(self, tenant_id: str, store_id: str, file_id: str) -> bool: ...

    def detach_all(self, tenant_id: str, store_id: str) -> list[str]: ...

    def claim_ingest_target(
        self, tenant_id: str, store_id: str, file_id: str, now: int, token: str, lease_until: int
    ) -> Attachment | None: ...

    def renew_lease(self, tenant_id: str, store_id: str, file_id: str, token: str, lease_until: int) -> bool: ...

    def current_attributes(self, tenant_id: str, store_id: str, file_id: str) -> tuple[bool, dict[str, Any] | None]: ...

    def reserve_chunks(
        self,
        tenant_id: str,
        store_id: str,
        file_id: str,
        chunks: int,
        usage_bytes: int,
        max_chunks: int,
        max_store_chunks: int,
        max_store_bytes: int,
    ) -> str | None: ...

    def finish_attachment(
        self,
        tenant_id: str,
        store_id: str,
        file_id: str,
        status: Literal["completed", "failed"],
        usage_bytes: int,
        last_error: LastError | None,
    ) -> bool: ...

    def resume_stuck(
        self, leases_before: int, unclaimed_before: int, reserve_until: int, limit: int = 10_000
    ) -> list[tuple[str, str, str]]: ...


class BatchRecords(Protocol):
    """File batches."""

    def create_batch(
        self,
        tenant_id: str,
        store_id: str,
        batch_id: str,
        entries: Sequence[NewAttachment],
        now: int,
        max_store_files: int = 0,
    ) -> list[str]: ...

    def get_batch(self, tenant_id: str, store_id: str, batch_id: str) -> VectorStoreFileBatch | None: ...

    def cancel_batch(self, tenant_id: str, store_id: str, batch_id: str) -> list[str]: ...


class MigrationRecords(Protocol):
    """A store's move between backends (operator tools)."""

    def store_config_by_id(self, store_id: str, now: int) -> StoreConfig | None: ...

    def attachment_statuses(self, store_id: str) -> dict[str, tuple[str, dict[str, Any] | None]]: ...

    def begin_migration(self, store_id: str, source: str, target: str, now: int) -> None: ...

    def migrated_files(self, store_id: str) -> dict[str, int]: ...

    def record_migrated_file(self, store_id: str, file_id: str, chunks: int) -> None: ...

    def finish_migration(self, store_id: str, target: str) -> None: ...


class QuotaRecords(Protocol):
    """What a tenant stores, for its quotas."""

    def quota_usage(self, tenant_id: str, now: int) -> QuotaUsage: ...


class ResponseRecords(Protocol):
    """Stored Responses."""

    def insert_response(
        self,
        tenant_id: str,
        response: dict[str, Any],
        input_items: list[dict[str, Any]],
        messages: list[dict[str, Any]],
    ) -> None: ...

    def get_response(self, tenant_id: str, response_id: str) -> StoredResponse | None: ...

    def delete_response(self, tenant_id: str, response_id: str) -> bool: ...


class VectorStoreCatalog(FileRecords, StoreRecords, AttachmentRecords, BatchRecords, Protocol):
    """What the vector store service works with."""


class SearchCatalog(FileRecords, StoreRecords, Protocol):
    """What search reads (file names) and writes (a store's last activity)."""
