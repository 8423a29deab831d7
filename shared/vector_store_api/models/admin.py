"""The organization API: projects (tenants), API keys, rate limits, quotas, usage.

Shapes follow OpenAI's admin API (`/v1/organization/...`) where it has an equivalent: projects,
project API keys, admin API keys, project rate limits, usage buckets. Roles, vector store scopes,
quotas and the vector-store usage counters are this service's own additions.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt, StringConstraints, field_validator

from .common import FileCounts, RequestModel, ResponseModel

Role = Literal["read", "write", "admin"]
ROLE_RANK: dict[str, int] = {"read": 1, "write": 2, "admin": 3}
MAX_SCOPED_STORES = 100

Name = Annotated[str, StringConstraints(max_length=256)]
Count = Annotated[StrictInt, Field(ge=0)]
# A key's secret value appears in the create response only (and is absent, not null, elsewhere).
SHOWN_ONCE = Field(None, exclude_if=lambda value: value is None)


class Project(ResponseModel):
    object: Literal["organization.project"] = "organization.project"
    id: str
    name: str
    created_at: int
    archived_at: int | None = None
    status: Literal["active", "archived"]


class CreateProjectRequest(RequestModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class UpdateProjectRequest(CreateProjectRequest):
    pass


def _check_store_ids(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    if not value:
        raise ValueError("must list at least one vector store id (null means every vector store)")
    if len(value) > MAX_SCOPED_STORES:
        raise ValueError(f"at most {MAX_SCOPED_STORES} vector store ids")
    for store_id in value:
        if not store_id.startswith("vs_"):
            raise ValueError(f"'{store_id}' is not a vector store id (expected an id beginning with 'vs_')")
    return list(dict.fromkeys(value))


class ProjectApiKey(ResponseModel):
    object: Literal["organization.project.api_key"] = "organization.project.api_key"
    id: str
    name: str
    redacted_value: str
    created_at: int
    last_used_at: int | None = None
    expires_at: int | None = None
    project_id: str
    role: Role
    vector_store_ids: list[str] | None = None  # null: every vector store of the project
    requests_per_minute: int | None = None  # null: the project's limit
    value: str | None = SHOWN_ONCE  # the key itself, in the create response only


class CreateProjectApiKeyRequest(RequestModel):
    name: Name = ""
    role: Role = "write"
    vector_store_ids: list[str] | None = None
    expires_at: StrictInt | None = Field(None, gt=0)
    requests_per_minute: StrictInt | None = Field(None, ge=1)

    _stores = field_validator("vector_store_ids")(_check_store_ids)


class UpdateProjectApiKeyRequest(RequestModel):
    """Fields left out stay as they are; `null` clears scopes, expiry or the per-key limit."""

    name: Name | None = None
    role: Role | None = None
    vector_store_ids: list[str] | None = None
    expires_at: StrictInt | None = Field(None, gt=0)
    requests_per_minute: StrictInt | None = Field(None, ge=1)

    _stores = field_validator("vector_store_ids")(_check_store_ids)


class AdminApiKey(ResponseModel):
    object: Literal["organization.admin_api_key"] = "organization.admin_api_key"
    id: str
    name: str
    redacted_value: str
    created_at: int
    last_used_at: int | None = None
    value: str | None = SHOWN_ONCE


class CreateAdminApiKeyRequest(RequestModel):
    name: Name = ""


class DeletedAdminObject(ResponseModel):
    object: str
    id: str
    deleted: bool = True


RateLimitId = Literal["rl-requests", "rl-vector-store-writes"]


class ProjectRateLimit(ResponseModel):
    """OpenAI's `project.rate_limit`, with an id per limited operation instead of per model."""

    object: Literal["project.rate_limit"] = "project.rate_limit"
    id: RateLimitId
    description: str
    max_requests_per_1_minute: int  # 0: unlimited


class UpdateRateLimitRequest(RequestModel):
    max_requests_per_1_minute: Count | None  # null: back to the default


class QuotaUsage(ResponseModel):
    files: int
    bytes: int
    chunks: int


class ProjectQuotas(ResponseModel):
    """Limits on what a project stores (0: unlimited), with what it stores now."""

    object: Literal["project.quotas"] = "project.quotas"
    project_id: str
    max_files: int
    max_bytes: int
    max_chunks: int
    max_vector_store_files: int
    max_vector_store_bytes: int
    max_vector_store_chunks: int
    usage: QuotaUsage


class UpdateQuotasRequest(RequestModel):
    """Fields left out stay as they are; `null` puts a quota back to its default."""

    max_files: Count | None = None
    max_bytes: Count | None = None
    max_chunks: Count | None = None
    max_vector_store_files: Count | None = None
    max_vector_store_bytes: Count | None = None
    max_vector_store_chunks: Count | None = None


class VectorStoreStats(ResponseModel):
    object: Literal["vector_store.stats"] = "vector_store.stats"
    id: str
    name: str
    usage_bytes: int
    chunk_count: int
    file_counts: FileCounts


class VectorStoreUsageResult(ResponseModel):
    """One row of a usage bucket; OpenAI's `organization.usage.vector_stores.result` plus our counters."""

    object: Literal["organization.usage.vector_stores.result"] = "organization.usage.vector_stores.result"
    project_id: str | None = None  # set when grouped by project_id
    vector_store_id: str | None = None  # set when grouped by vector_store_id
    num_requests: int = 0
    requests_by_route: dict[str, int] = Field(default_factory=dict)
    num_searches: int = 0
    num_files_uploaded: int = 0
    bytes_uploaded: int = 0  # file bytes uploaded to /v1/files
    num_files_ingested: int = 0
    num_chunks_embedded: int = 0
    num_tokens_embedded: int = 0
    bytes_ingested: int = 0  # vector store usage_bytes added by ingestion


class UsageBucket(ResponseModel):
    object: Literal["bucket"] = "bucket"
    start_time: int
    end_time: int
    results: list[VectorStoreUsageResult]


class UsagePage(ResponseModel):
    object: Literal["page"] = "page"
    data: list[UsageBucket]
    has_more: bool
    next_page: str | None = None
