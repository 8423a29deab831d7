"""Vector store, vector store file and file batch objects, and their request bodies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt, StrictStr, model_validator

from ..ids import FILE_PREFIX
from .common import (
    MAX_DESCRIPTION_CHARS,
    MAX_NAME_CHARS,
    Attributes,
    ChunkingStrategyParam,
    CursorPage,
    DeletedObject,
    FileCounts,
    Metadata,
    RequestModel,
    ResponseModel,
    StaticChunkingStrategyObject,
)

MAX_FILE_IDS_ON_CREATE = 500
MAX_BATCH_FILES = 2000

# A file id in a request body, documented with its prefix; the service checks it (OpenAI's 400 message).
FileIdParam = Annotated[StrictStr, Field(json_schema_extra={"pattern": f"^{FILE_PREFIX}"})]

StoreStatus = Literal["expired", "in_progress", "completed"]
BatchStatus = Literal["in_progress", "completed", "cancelled", "failed"]


class StoreExpiresAfter(RequestModel):
    anchor: Literal["last_active_at"]
    days: StrictInt = Field(ge=1, le=365)


class StoreExpiresAfterObject(ResponseModel):
    anchor: Literal["last_active_at"]
    days: int


class CreateVectorStoreRequest(RequestModel):
    name: StrictStr | None = Field(default=None, max_length=MAX_NAME_CHARS)
    description: StrictStr | None = Field(default=None, max_length=MAX_DESCRIPTION_CHARS)
    file_ids: list[FileIdParam] | None = Field(default=None, max_length=MAX_FILE_IDS_ON_CREATE)
    chunking_strategy: ChunkingStrategyParam | None = None
    expires_after: StoreExpiresAfter | None = None
    metadata: Metadata | None = None
    # Extension fields (OGX names): the store's embedding model and its backend.
    embedding_model: StrictStr | None = None
    embedding_dimension: StrictInt | None = Field(default=None, ge=1, le=16000)
    provider_id: StrictStr | None = None


class UpdateVectorStoreRequest(RequestModel):
    name: StrictStr | None = Field(default=None, max_length=MAX_NAME_CHARS)
    expires_after: StoreExpiresAfter | None = None
    metadata: Metadata | None = None


class VectorStore(ResponseModel):
    id: str
    object: Literal["vector_store"] = "vector_store"
    created_at: int
    name: str
    description: str | None = None
    usage_bytes: int
    file_counts: FileCounts
    status: StoreStatus
    last_active_at: int | None
    metadata: dict[str, str] | None
    expires_after: StoreExpiresAfterObject | None = None
    expires_at: int | None = None
    embedding_model: str | None = None
    embedding_dimension: int | None = None
    provider_id: str | None = None


class VectorStoreList(CursorPage[VectorStore]):
    pass


class VectorStoreDeleted(DeletedObject):
    object: Literal["vector_store.deleted"] = "vector_store.deleted"


def store_status(counts: FileCounts, expires_at: int | None, now: int) -> StoreStatus:
    """Expired once past `expires_at`; otherwise in progress while any file is."""
    if expires_at is not None and expires_at <= now:
        return "expired"
    return "in_progress" if counts.in_progress else "completed"


def batch_status(cancelled: bool, counts: FileCounts) -> BatchStatus:
    """Failed only when every file failed; a cancelled batch stays cancelled."""
    if cancelled:
        return "cancelled"
    if counts.in_progress:
        return "in_progress"
    if counts.total and counts.failed == counts.total:
        return "failed"
    return "completed"


class CreateVectorStoreFileRequest(RequestModel):
    file_id: FileIdParam
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategyParam | None = None


class UpdateVectorStoreFileRequest(RequestModel):
    # Required but nullable, as in OpenAI's schema.
    attributes: Attributes | None


LastErrorCode = Literal["server_error", "unsupported_file", "invalid_file"]


class LastError(ResponseModel):
    code: LastErrorCode
    message: str


class VectorStoreFile(ResponseModel):
    id: str
    object: Literal["vector_store.file"] = "vector_store.file"
    created_at: int
    vector_store_id: str
    status: Literal["in_progress", "completed", "cancelled", "failed"]
    usage_bytes: int
    last_error: LastError | None
    attributes: dict[str, str | bool | int | float] | None = None
    chunking_strategy: StaticChunkingStrategyObject | None = None
    # Extension field: the chunks this file holds in the store (while in_progress, those reserved for
    # it; 0 once failed or cancelled). The admin console shows it.
    chunk_count: int = 0


class VectorStoreFileList(CursorPage[VectorStoreFile]):
    pass


class VectorStoreFileDeleted(DeletedObject):
    object: Literal["vector_store.file.deleted"] = "vector_store.file.deleted"


class BatchFileParam(RequestModel):
    file_id: FileIdParam
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategyParam | None = None


class CreateFileBatchRequest(RequestModel):
    file_ids: list[FileIdParam] | None = Field(default=None, min_length=1, max_length=MAX_BATCH_FILES)
    files: list[BatchFileParam] | None = Field(default=None, min_length=1, max_length=MAX_BATCH_FILES)
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategyParam | None = None

    @model_validator(mode="after")
    def _exactly_one_source(self) -> "CreateFileBatchRequest":
        if (self.file_ids is None) == (self.files is None):
            raise ValueError("exactly one of 'file_ids' or 'files' must be provided")
        return self

    def entries(self) -> list[BatchFileParam]:
        """Per-file parameters; with `file_ids` the top-level values apply to every file."""
        if self.files is not None:
            return list(self.files)
        return [
            BatchFileParam(file_id=file_id, attributes=self.attributes, chunking_strategy=self.chunking_strategy)
            for file_id in self.file_ids or []
        ]


class VectorStoreFileBatch(ResponseModel):
    id: str
    object: Literal["vector_store.files_batch"] = "vector_store.files_batch"
    created_at: int
    vector_store_id: str
    status: BatchStatus
    file_counts: FileCounts


class FileContent(ResponseModel):
    type: Literal["text"] = "text"
    text: str


class FileContentPage(ResponseModel):
    object: Literal["vector_store.file_content.page"] = "vector_store.file_content.page"
    data: list[FileContent]
    has_more: bool = False
    next_page: str | None = None
