"""Files: upload, list, retrieve, delete (cascading to every store), download.

Every read and the delete take the caller's `FileScope` (None: the whole project): a key limited to
some vector stores sees only the Files attached to them and those it uploaded; any other is a 404."""

from __future__ import annotations

import logging
from typing import BinaryIO, Callable, Iterator, Sequence, cast

from ..blobstore.base import BlobStore
from ..catalog.ports import FileRecords
from ..catalog.records import StoredFile
from ..errors import InvalidRequest, PermissionDenied, file_too_large, not_found, shown
from ..ids import FILE_PREFIX, check_id, new_id, now
from ..models.common import Page, PageRequest
from ..models.files import (
    FILE_EXPIRY_MAX_SECONDS,
    FILE_EXPIRY_MIN_SECONDS,
    UPLOAD_PURPOSES,
    FileDeleted,
    FileObject,
    FileScope,
)
from ..request_budget import checkpoint
from ..usage.recorder import UsageRecorder
from ..vector_index.base import StoreRef, VectorIndexes
from .limits import Limits, quota_checked

log = logging.getLogger(__name__)


def _checked(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A download stops when its request is stopped (the client left, or a shutdown's grace is over)."""
    for chunk in chunks:
        checkpoint()
        yield chunk


class _Capped:
    """A stream that ends after `limit` bytes, so no blob store ever copies more than that."""

    def __init__(self, stream: BinaryIO, limit: int):
        self._stream = stream
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        checkpoint()  # a client gone, a shutdown's grace over: stop copying
        if self._left <= 0:
            return b""
        data = self._stream.read(self._left if size < 0 else min(size, self._left))
        self._left -= len(data)
        return data


class FileService:
    def __init__(
        self,
        catalog: FileRecords,
        blobs: BlobStore,
        indexes: VectorIndexes,
        max_file_bytes: int,
        limits_for: Callable[[str], Limits],
        usage: UsageRecorder,
    ):
        self._catalog = catalog
        self._blobs = blobs
        self._indexes = indexes
        self._max_bytes = max_file_bytes
        self._limits_for = limits_for
        self._usage = usage

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    def upload(
        self,
        tenant_id: str,
        filename: str,
        stream: BinaryIO,
        purpose: str,
        expires_after_anchor: str | None = None,
        expires_after_seconds: int | None = None,
        size: int | None = None,
        uploaded_by: str | None = None,
    ) -> FileObject:
        """`size`: the stream's length when known (a spooled upload), checked before anything is stored;
        otherwise the copy stops one byte past the limit and the file is refused then. `uploaded_by`:
        the uploading key's id (a store-scoped key sees the Files it uploaded)."""
        if purpose not in UPLOAD_PURPOSES:
            raise InvalidRequest(
                f"Invalid value for 'purpose': '{purpose}'. Expected one of: {', '.join(UPLOAD_PURPOSES)}.",
                param="purpose",
                code="invalid_value",
            )
        expires_after = self._expiry(expires_after_anchor, expires_after_seconds)
        if size is not None and size > self._max_bytes:
            raise file_too_large(self._max_bytes, size)
        capped = cast(BinaryIO, _Capped(stream, self._max_bytes + 1))  # the blob stores only call read()
        return self.create(
            tenant_id, filename, purpose, lambda key: self._blobs.put(key, capped), expires_after, uploaded_by=uploaded_by
        )

    def create(
        self,
        tenant_id: str,
        filename: str,
        purpose: str,
        write: Callable[[str], int],
        expires_after_seconds: int | None = None,
        source: str | None = None,
        uploaded_by: str | None = None,
    ) -> FileObject:
        """Create a File whose bytes `write(blob_key)` stores (returning their size). With `source`
        (an import's identity for the object, e.g. bulk ingest's), a File already created from it is
        returned instead, so a retried import creates each File once."""
        if source is not None and (existing := self._catalog.file_from_source(tenant_id, source)) is not None:
            return existing
        if not filename.strip():
            raise InvalidRequest("The uploaded file must have a filename.", param="file")
        if "\x00" in filename:
            raise InvalidRequest("The file name must not contain NUL characters.", param="file")
        file_id = new_id(FILE_PREFIX)
        blob_key = f"{tenant_id}/{file_id}"
        size = write(blob_key)
        try:
            if size > self._max_bytes:
                # One byte past the limit is where a capped upload stops: its real size is unknown.
                raise file_too_large(self._max_bytes, size if size > self._max_bytes + 1 else None)
            created = now()
            file = FileObject(
                id=file_id,
                bytes=size,
                created_at=created,
                filename=filename,
                purpose=purpose,
                expires_at=created + expires_after_seconds if expires_after_seconds is not None else None,
            )
            limits = self._limits_for(tenant_id)
            with quota_checked("file"):
                inserted = self._catalog.insert_file(
                    tenant_id, file, blob_key, limits.quotas.max_files, limits.quotas.max_bytes, source, uploaded_by
                )
        except BaseException:
            self._blobs.delete(blob_key)  # nothing half-written
            raise
        if not inserted:  # a concurrent run of the same import got there first
            self._blobs.delete(blob_key)
            winner = self._catalog.file_from_source(tenant_id, source) if source else None
            if winner is None:
                raise RuntimeError(f"file from {source} neither inserted nor found")
            return winner
        self._usage.uploaded(tenant_id, size)
        return file

    @staticmethod
    def _expiry(anchor: str | None, seconds: int | None) -> int | None:
        if anchor is None and seconds is None:
            return None
        if anchor != "created_at":
            raise InvalidRequest(
                "Invalid value for 'expires_after.anchor': expected 'created_at'.", param="expires_after.anchor"
            )
        if seconds is None or not FILE_EXPIRY_MIN_SECONDS <= seconds <= FILE_EXPIRY_MAX_SECONDS:
            raise InvalidRequest(
                f"Invalid 'expires_after.seconds': expected an integer between {FILE_EXPIRY_MIN_SECONDS}"
                f" and {FILE_EXPIRY_MAX_SECONDS}.",
                param="expires_after.seconds",
            )
        return seconds

    def list(self, tenant_id: str, purpose: str | None, page: PageRequest, scope: FileScope | None = None) -> Page[FileObject]:
        if page.after is not None:
            check_id(page.after, FILE_PREFIX, "after")
        return self._catalog.list_files(tenant_id, purpose, page, now(), scope)

    def retrieve(self, tenant_id: str, file_id: str, scope: FileScope | None = None) -> FileObject:
        return self._stored(tenant_id, file_id, scope).object

    def _stored(self, tenant_id: str, file_id: str, scope: FileScope | None) -> StoredFile:
        check_id(file_id, FILE_PREFIX, "file_id")
        stored = self._catalog.get_file(tenant_id, file_id, now(), scope)
        if stored is None:
            raise not_found("file", file_id, param="file_id")
        return stored

    def delete(self, tenant_id: str, file_id: str, scope: FileScope | None = None) -> FileDeleted:
        """A scoped key may delete a File it sees only if every store holding it is in its scope (403)."""
        check_id(file_id, FILE_PREFIX, "file_id")
        try:
            deleted = self._catalog.delete_file(tenant_id, file_id, scope)
        except PermissionError as error:
            raise PermissionDenied(
                f"File {shown(file_id)} is attached to vector stores this API key cannot access ({', '.join(error.args[0])});"
                " it was not deleted.",
                param="file_id",
                code="insufficient_permissions",
            ) from None
        if deleted is None:
            raise not_found("file", file_id, param="file_id")
        self._remove_everywhere(file_id, *deleted)
        return FileDeleted(id=file_id)

    # Sequence, not list: `list` here is the method above.
    def _remove_everywhere(self, file_id: str, blob_key: str, stores: Sequence[StoreRef]) -> None:
        for store in stores:
            self._indexes.for_store(store).delete_file_chunks(store, file_id)
        self._blobs.delete(blob_key)

    def content(self, tenant_id: str, file_id: str, scope: FileScope | None = None) -> tuple[FileObject, Iterator[bytes]]:
        stored = self._stored(tenant_id, file_id, scope)
        return stored.object, _checked(self._blobs.iter_chunks(stored.blob_key))

    def delete_expired(self) -> int:
        """Remove files past their `expires_at` (they are already invisible to every query)."""
        removed = 0
        for tenant_id, file_id in self._catalog.expired_files(now()):
            deleted = self._catalog.delete_file(tenant_id, file_id)
            if deleted is not None:
                self._remove_everywhere(file_id, *deleted)
                removed += 1
        return removed
