"""Shared pieces of OpenAI's schema: limits, metadata/attributes, chunking, pagination."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)

MAX_MAP_KEYS = 16
MAX_KEY_CHARS = 64
MAX_VALUE_CHARS = 512
AUTO_CHUNK_TOKENS = 800
AUTO_CHUNK_OVERLAP = 400
# Bounds on free text a request carries (README, "Limits"): a store's name is a label, and 512 is
# OpenAI's own limit on a description and on a metadata value.
MAX_NAME_CHARS = 256
MAX_DESCRIPTION_CHARS = 512


class RequestModel(BaseModel):
    """Request bodies reject unknown fields, as OpenAI's schemas do (additionalProperties: false), and
    take every field at its declared JSON type: "10" is not an integer, true is not 1."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="allow")


def _check_map(value: dict[str, Any], what: str) -> dict[str, Any]:
    if len(value) > MAX_MAP_KEYS:
        raise ValueError(
            f"too many properties. Expected an object with at most {MAX_MAP_KEYS} properties, "
            f"but got an object with {len(value)} properties instead"
        )
    for key, item in value.items():
        if len(key) > MAX_KEY_CHARS:
            raise ValueError(f"{what} key '{key[:20]}...' is longer than {MAX_KEY_CHARS} characters")
        if isinstance(item, str) and len(item) > MAX_VALUE_CHARS:
            raise ValueError(f"value of {what} key '{key}' is longer than {MAX_VALUE_CHARS} characters")
        if isinstance(item, float) and not math.isfinite(item):  # NaN/Infinity/1e400: jsonb cannot store them
            raise ValueError(f"value of {what} key '{key}' must be a finite number")
    return value


# Metadata values are strings only; attribute values are string, number or boolean.
AttributeValue = Union[StrictStr, StrictBool, StrictInt, StrictFloat]
Metadata = Annotated[dict[str, StrictStr], AfterValidator(lambda v: _check_map(v, "metadata"))]
Attributes = Annotated[dict[str, AttributeValue], AfterValidator(lambda v: _check_map(v, "attributes"))]


class StaticChunkingConfig(RequestModel):
    max_chunk_size_tokens: StrictInt = Field(ge=100, le=4096)
    chunk_overlap_tokens: StrictInt = Field(ge=0)

    @model_validator(mode="after")
    def _overlap_at_most_half(self) -> "StaticChunkingConfig":
        if self.chunk_overlap_tokens > self.max_chunk_size_tokens // 2:
            raise ValueError(
                "chunk_overlap_tokens must not exceed half of max_chunk_size_tokens "
                f"({self.max_chunk_size_tokens // 2})"
            )
        return self


class AutoChunkingStrategy(RequestModel):
    type: Literal["auto"]


class StaticChunkingStrategy(RequestModel):
    type: Literal["static"]
    static: StaticChunkingConfig


ChunkingStrategyParam = Annotated[
    Union[AutoChunkingStrategy, StaticChunkingStrategy], Field(discriminator="type")
]


class StaticChunking(ResponseModel):
    max_chunk_size_tokens: int
    chunk_overlap_tokens: int


class StaticChunkingStrategyObject(ResponseModel):
    type: Literal["static"] = "static"
    static: StaticChunking


def resolve_chunking(strategy: AutoChunkingStrategy | StaticChunkingStrategy | None) -> StaticChunking:
    """`auto` is reported as static 800/400: the SDK's response union has no `auto`."""
    if isinstance(strategy, StaticChunkingStrategy):
        return StaticChunking(
            max_chunk_size_tokens=strategy.static.max_chunk_size_tokens,
            chunk_overlap_tokens=strategy.static.chunk_overlap_tokens,
        )
    return StaticChunking(max_chunk_size_tokens=AUTO_CHUNK_TOKENS, chunk_overlap_tokens=AUTO_CHUNK_OVERLAP)


class FileCounts(ResponseModel):
    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    total: int = 0


class DeletedObject(ResponseModel):
    """What a delete answers; each kind of object has its subclass naming its `object` (FileDeleted, ...)."""

    id: str
    object: str
    deleted: bool = True


class Error(ResponseModel):
    """OpenAI's error object: every error response's body is `{"error": Error}` (ErrorResponse)."""

    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(ResponseModel):
    error: Error


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing as services return it (CursorPage is its response form)."""

    items: list[T]
    has_more: bool


Order = Literal["asc", "desc"]


@dataclass(frozen=True)
class PageRequest:
    """A list request's `limit`, `order` and cursors (object ids): what every list call takes."""

    limit: int
    order: Order = "desc"
    after: str | None = None
    before: str | None = None


class CursorPage(ResponseModel, Generic[T]):
    """A cursor-paginated list. Each kind of object has its named subclass (FileList, ...), so the
    OpenAPI schema and generated clients get one typed list per kind."""

    object: Literal["list"] = "list"
    data: list[T]
    first_id: str | None
    last_id: str | None
    has_more: bool


class ListParams(BaseModel):
    """Validated cursor-list query parameters."""

    limit: int
    order: Literal["asc", "desc"] = "desc"
    after: str | None = None
    before: str | None = None
