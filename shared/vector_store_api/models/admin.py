"""The organization API: projects (tenants), API keys, rate limits, quotas, usage.

Shapes follow OpenAI's admin API (`/v1/organization/...`) where it has an equivalent: projects,
project API keys, admin API keys, project rate limits, usage buckets. Roles, vector store scopes,
quotas and the vector-store usage counters are this service's own additions.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Self

from pydantic import Field, StrictInt, StringConstraints, create_model, field_validator, model_validator

from ..ids import MAX_TIMESTAMP, VECTOR_STORE_PREFIX
from .common import CursorPage, FileCounts, RequestModel, ResponseModel

Role = Literal["read", "write", "admin"]  # ordered: services/principal.py ROLE_RANK
MAX_SCOPED_STORES = 100

Name = Annotated[str, StringConstraints(max_length=256)]
# What the catalog's columns hold: a key's expiry is a bigint of Unix seconds (at most MAX_TIMESTAMP,
# so created_at + expires_in_seconds cannot overflow), its requests_per_minute an integer. Past these
# a value was a 500 from PostgreSQL; now it is a 400 naming the bound.
MAX_INT32 = 2**31 - 1
MAX_INT64 = 2**63 - 1
Count = Annotated[StrictInt, Field(ge=0, le=MAX_INT64)]
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
        if not store_id.startswith(VECTOR_STORE_PREFIX):
            raise ValueError(
                f"'{store_id}' is not a vector store id (expected an id beginning with '{VECTOR_STORE_PREFIX}')"
            )
    return list(dict.fromkeys(value))


class KeyOwner(ResponseModel):
    """OpenAI's key owner. Keys here belong to no user: each is its own service account."""

    type: Literal["service_account", "user"]
    service_account: dict[str, Any] | None = None
    role: str | None = None


class _ApiKey(ResponseModel):
    """Fields common to project and admin keys."""

    id: str
    name: str
    redacted_value: str
    created_at: int
    last_used_at: int | None = None
    expires_at: int | None = None
    value: str | None = SHOWN_ONCE  # the key itself, in the create response only


class ProjectApiKey(_ApiKey):
    object: Literal["organization.project.api_key"] = "organization.project.api_key"
    owner: KeyOwner
    owner_project_access: Literal["active", "inactive"]
    project_id: str
    role: Role
    vector_store_ids: list[str] | None = None  # null: every vector store of the project
    requests_per_minute: int | None = None  # null: the project's limit


# OpenAI's key scopes this service understands: [] is every permission of the key's role (at least
# write), ["api.all.read"] read-only.
READ_ONLY_SCOPE = "api.all.read"


class _KeyFields(RequestModel):
    vector_store_ids: list[str] | None = None
    expires_at: StrictInt | None = Field(None, gt=0, le=MAX_TIMESTAMP)
    expires_in_seconds: StrictInt | None = Field(None, gt=0, le=MAX_TIMESTAMP)  # OpenAI's form of expires_at
    requests_per_minute: StrictInt | None = Field(None, ge=1, le=MAX_INT32)
    scopes: list[str] | None = None  # OpenAI's form of role: see READ_ONLY_SCOPE

    _stores = field_validator("vector_store_ids")(_check_store_ids)

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and value not in ([], [READ_ONLY_SCOPE]):
            raise ValueError(f"supported scopes are [] (every permission of the role) and ['{READ_ONLY_SCOPE}']")
        return value

    @model_validator(mode="after")
    def _one_expiry(self) -> Self:
        if self.expires_at is not None and self.expires_in_seconds is not None:
            raise ValueError("give expires_at or expires_in_seconds, not both")
        return self


class CreateProjectApiKeyRequest(_KeyFields):
    name: Name = ""
    role: Role = "write"


class UpdateProjectApiKeyRequest(_KeyFields):
    """Fields left out stay as they are; `null` clears scopes, expiry or the per-key limit."""

    name: Name | None = None
    role: Role | None = None


class AdminApiKey(_ApiKey):
    object: Literal["organization.admin_api_key"] = "organization.admin_api_key"
    owner: KeyOwner = KeyOwner(type="user", role="owner")


class CreateAdminApiKeyRequest(RequestModel):
    name: Name = ""
    expires_in_seconds: StrictInt | None = Field(None, gt=0, le=MAX_TIMESTAMP)


class DeletedAdminObject(ResponseModel):
    object: str
    id: str
    deleted: bool = True


class ProjectApiKeyDeleted(DeletedAdminObject):
    object: Literal["organization.project.api_key.deleted"] = "organization.project.api_key.deleted"


class AdminApiKeyDeleted(DeletedAdminObject):
    object: Literal["organization.admin_api_key.deleted"] = "organization.admin_api_key.deleted"


class ProjectList(CursorPage[Project]):
    pass


class ProjectApiKeyList(CursorPage[ProjectApiKey]):
    pass


class AdminApiKeyList(CursorPage[AdminApiKey]):
    pass


RateLimitId = Literal["rl-requests", "rl-vector-store-writes"]


class ProjectRateLimit(ResponseModel):
    """OpenAI's `project.rate_limit`, with an id per limited operation instead of per model."""

    object: Literal["project.rate_limit"] = "project.rate_limit"
    id: RateLimitId
    model: str  # what is limited (OpenAI: a model name)
    description: str
    max_requests_per_1_minute: int  # 0: unlimited
    max_tokens_per_1_minute: int = 0  # no token limits here


class ProjectRateLimitList(CursorPage[ProjectRateLimit]):
    pass


class UpdateRateLimitRequest(RequestModel):
    max_requests_per_1_minute: Count | None  # null: back to the default


class QuotaUsage(ResponseModel):
    files: int
    bytes: int
    chunks: int


class Quotas(ResponseModel):
    """Limits on what a project stores (0: unlimited): the one list of quotas. Settings give each a
    default (`QUOTA_<NAME>`), ProjectQuotas shows them, UpdateQuotasRequest sets them."""

    max_files: int  # files per project (/v1/files)
    max_bytes: int  # bytes of files per project
    max_chunks: int  # chunks per project, all vector stores together
    max_vector_store_files: int  # files per vector store
    max_vector_store_bytes: int  # usage_bytes per vector store
    max_vector_store_chunks: int  # chunks per vector store


QUOTA_FIELDS: tuple[str, ...] = tuple(Quotas.model_fields)


class ProjectQuotas(Quotas):
    """A project's quotas with what it stores now."""

    object: Literal["project.quotas"] = "project.quotas"
    project_id: str
    usage: QuotaUsage


# Derived from Quotas, so a new quota is one line there (a dynamic base: mypy cannot see its fields).
_QUOTA_CHANGES: dict[str, Any] = {name: (Optional[Count], None) for name in QUOTA_FIELDS}  # (type, default)
_QuotaChanges = create_model("_QuotaChanges", __base__=RequestModel, **_QUOTA_CHANGES)


class UpdateQuotasRequest(_QuotaChanges):
    """Fields left out stay as they are; `null` puts a quota back to its default."""


class VectorStoreStats(ResponseModel):
    object: Literal["vector_store.stats"] = "vector_store.stats"
    id: str
    name: str
    usage_bytes: int
    chunk_count: int
    file_counts: FileCounts


class VectorStoreStatsList(CursorPage[VectorStoreStats]):
    pass


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
    usage_bytes: int = 0  # vector store bytes added by ingestion (OpenAI's field; not a storage snapshot)
    num_responses: int = 0  # POST /v1/responses answered
    num_tool_searches: int = 0  # stores searched by the Responses file_search tool
    num_upstream_input_tokens: int = 0  # chat completions tokens of those responses
    num_upstream_output_tokens: int = 0


MAX_BUCKETS = 31  # days in one page of usage (`limit`)


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
