"""Files API objects (`file`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .common import CursorPage, DeletedObject, ResponseModel

# What uploads accept; `evals` is accepted but is not in the SDK's response literal.
UploadPurpose = Literal["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]
UPLOAD_PURPOSES: tuple[str, ...] = UploadPurpose.__args__  # type: ignore[attr-defined]
FILE_EXPIRY_MIN_SECONDS = 3600
FILE_EXPIRY_MAX_SECONDS = 2_592_000

FILES_LIST_MAX_LIMIT = 10_000  # `limit` of GET /v1/files, as OpenAI


class FileObject(ResponseModel):
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: Literal["uploaded", "processed", "error"] = "processed"
    expires_at: int | None = None
    status_details: str | None = None


@dataclass(frozen=True)
class FileScope:
    """The Files a key limited to some vector stores may see: those attached to one of its stores and
    those it uploaded. Every other File of its project answers 404, as if it did not exist."""

    key_id: str
    store_ids: frozenset[str]


class FileList(CursorPage[FileObject]):
    pass


class FileDeleted(DeletedObject):
    object: Literal["file"] = "file"
