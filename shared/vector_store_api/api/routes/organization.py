"""/v1/organization: projects, API keys, admin API keys, rate limits, quotas, stats and usage.

Named after OpenAI's admin API where it has an equivalent. Organization admin keys may use every
endpoint; a project key with the `admin` role only its own project's, read-only for limits/quotas.
"""

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response

from ...errors import InvalidRequest
from ...ids import MAX_TIMESTAMP, now
from ...models.admin import (
    MAX_BUCKETS,
    AdminApiKey,
    AdminApiKeyDeleted,
    AdminApiKeyList,
    CreateAdminApiKeyRequest,
    CreateProjectApiKeyRequest,
    CreateProjectRequest,
    Project,
    ProjectApiKey,
    ProjectApiKeyDeleted,
    ProjectApiKeyList,
    ProjectList,
    ProjectQuotas,
    ProjectRateLimit,
    ProjectRateLimitList,
    UpdateProjectApiKeyRequest,
    UpdateProjectRequest,
    UpdateQuotasRequest,
    UpdateRateLimitRequest,
    UsagePage,
    VectorStoreStatsList,
)
from ..deps import AdminDep, JsonBody, NewestFirstPage, OldestFirstPage, ServicesDep, admin, rate_limit
from ..openapi import COMMON_ERRORS, NOT_FOUND
from ..responses import respond, respond_list, respond_page

router = APIRouter(
    prefix="/v1/organization",
    tags=["organization"],
    dependencies=[Depends(admin), Depends(rate_limit)],
    responses=COMMON_ERRORS,
)

Limit = Query(20, ge=1, le=100)


# ----------------------------------------------------------------------------------- projects
@router.post("/projects", response_model=Project)
def create_project(
    *,
    body: CreateProjectRequest = Depends(JsonBody(CreateProjectRequest)),
    caller: AdminDep,
    svc: ServicesDep,
) -> Response:
    return respond(svc.projects.create_project(caller, body))


@router.get("/projects", response_model=ProjectList)
def list_projects(
    *,
    page: OldestFirstPage,
    include_archived: bool = False,
    caller: AdminDep,
    svc: ServicesDep,
) -> Response:
    return respond_page(svc.projects.list_projects(caller, page, include_archived))


@router.get("/projects/{project_id}", response_model=Project, responses=NOT_FOUND)
def retrieve_project(*, project_id: str, caller: AdminDep, svc: ServicesDep) -> Response:
    return respond(svc.projects.retrieve_project(caller, project_id))


@router.post("/projects/{project_id}", response_model=Project, responses=NOT_FOUND)
def update_project(
    *,
    project_id: str,
    body: UpdateProjectRequest = Depends(JsonBody(UpdateProjectRequest)),
    caller: AdminDep,
    svc: ServicesDep,
) -> Response:
    return respond(svc.projects.update_project(caller, project_id, body.name))


@router.post("/projects/{project_id}/archive", response_model=Project, responses=NOT_FOUND)
def archive_project(*, project_id: str, caller: AdminDep, svc: ServicesDep) -> Response:
    return respond(svc.projects.archive_project(caller, project_id))


# ----------------------------------------------------------------------------- project API keys
@router.post("/projects/{project_id}/api_keys", response_model=ProjectApiKey, responses=NOT_FOUND)
def create_project_api_key(
    *,
    project_id: str,
    body: CreateProjectApiKeyRequest = Depends(JsonBody(CreateProjectApiKeyRequest)),
    caller: AdminDep,
    svc: ServicesDep,
) -> Response:
    return respond(svc.projects.create_key(caller, project_id, body))


@router.get("/projects/{project_id}/api_keys", response_model=ProjectApiKeyList, responses=NOT_FOUND)
def list_project_api_keys(
    *,
    project_id: str,
    page: OldestFirstPage,
    caller: AdminDep,
    svc: ServicesDep,
) -> Response:
    return respond_page(svc.projects.list_keys(caller, project_id, page))


@router.get("/projects/{project_id}/api_keys/{key_id}", response_model=ProjectApiKey, responses=NOT_FOUND)
def retrieve_project_api_key(*, project_id: str, key_id: str, caller: AdminDep, svc: ServicesDep) -> Response:
    return respond(svc.projects.retrieve_key(caller, project_id, key_id))


@router.post("/projects/{project_id}/api_keys/{key_id}", response_model=ProjectApiKey, responses=NOT_FOUND)
def update_project_api_key(
    *,
    project_id: str,
    key_id: str,
    body: UpdateProjectApiKeyRequest = Depends(JsonBody(UpdateProjectApiKeyRequest)),
    caller: AdminDep,
    svc: ServicesDep,
) -> Response:
    return respond(svc.projects.update_key(caller, project_id, key_id, body))


@router.delete(
    "/projects/{project_id}/api_keys/{key_id}", response_model=ProjectApiKeyDeleted, responses=NOT_FOUND
)
def revoke_project_api_key(*, project_id: str, key_id: str, caller: AdminDep, svc: ServicesDep) -> Response:
    return respond(svc.projects.revoke_key(caller, project_id, key_id))


# ------------------------------------------------------------------------------- admin API keys
@router.post("/admin_api_keys", response_model=AdminApiKey)
def create_admin_api_key(
    *,
    body: CreateAdminApiKeyRequest = Depends(JsonBody(CreateAdminApiKeyRequest)),
    caller: AdminDep,
    svc: ServicesDep,
) -> Response:
    return respond(svc.projects.create_admin_key(caller, body))


@router.get("/admin_api_keys", response_model=AdminApiKeyList)
def list_admin_api_keys(
    *,
    page: OldestFirstPage,
    caller: AdminDep,
    svc: ServicesDep,
) -> Response:
    return respond_page(svc.projects.list_admin_keys(caller, page))


@router.get("/admin_api_keys/{key_id}", response_model=AdminApiKey, responses=NOT_FOUND)
def retrieve_admin_api_key(*, key_id: str, caller: AdminDep, svc: ServicesDep) -> Response:
    return respond(svc.projects.retrieve_admin_key(caller, key_id))


@router.delete("/admin_api_keys/{key_id}", response_model=AdminApiKeyDeleted, responses=NOT_FOUND)
def revoke_admin_api_key(*, key_id: str, caller: AdminDep, svc: ServicesDep) -> Response:
    return respond(svc.projects.revoke_admin_key(caller, key_id))


# --------------------------------------------------------------------------- limits and quotas
@router.get("/projects/{project_id}/rate_limits", response_model=ProjectRateLimitList, responses=NOT_FOUND)
def list_rate_limits(*, project_id: str, caller: AdminDep, svc: ServicesDep) -> Response:
    return respond_list(svc.projects.rate_limits(caller, project_id))


@router.post(
    "/projects/{project_id}/rate_limits/{rate_limit_id}", response_model=ProjectRateLimit, responses=NOT_FOUND
)
def update_rate_limit(
    *,
    project_id: str,
    rate_limit_id: str,
    body: UpdateRateLimitRequest = Depends(JsonBody(UpdateRateLimitRequest)),
    caller: AdminDep,
    svc: ServicesDep,
) -> Response:
    return respond(svc.projects.update_rate_limit(caller, project_id, rate_limit_id, body))


@router.get("/projects/{project_id}/quotas", response_model=ProjectQuotas, responses=NOT_FOUND)
def retrieve_quotas(*, project_id: str, caller: AdminDep, svc: ServicesDep) -> Response:
    return respond(svc.projects.quotas(caller, project_id))


@router.post("/projects/{project_id}/quotas", response_model=ProjectQuotas, responses=NOT_FOUND)
def update_quotas(
    *,
    project_id: str,
    body: UpdateQuotasRequest = Depends(JsonBody(UpdateQuotasRequest)),
    caller: AdminDep,
    svc: ServicesDep,
) -> Response:
    return respond(svc.projects.update_quotas(caller, project_id, body))


@router.get(
    "/projects/{project_id}/vector_store_stats", response_model=VectorStoreStatsList, responses=NOT_FOUND
)
def list_vector_store_stats(
    *,
    project_id: str,
    page: NewestFirstPage,
    caller: AdminDep,
    svc: ServicesDep,
) -> Response:
    svc.projects.administered_project(caller, project_id)
    return respond_page(svc.stores.stats(project_id, page))


# ------------------------------------------------------------------------------------- usage
def _list_param(request: Request, name: str) -> list[str] | None:
    """`name=a&name=b`, or the SDK's bracket form `name[]=a&name[]=b`."""
    values = request.query_params.getlist(name) + request.query_params.getlist(name + "[]")
    return values or None


# `project_ids`, `vector_store_ids` and `group_by` are read from the query string by hand (both the
# plain and the SDK's bracket form), so they are declared here.
def _list_parameter(name: str, items: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "array", "items": items},
        "style": "form",
        "explode": True,
    }


_USAGE_LIST_PARAMETERS = [
    _list_parameter("project_ids", {"type": "string"}, "Only these projects (an organization admin key; default: all)."),
    _list_parameter("vector_store_ids", {"type": "string"}, "Only these vector stores."),
    _list_parameter("group_by", {"type": "string", "enum": ["project_id", "vector_store_id"]}, "Group each bucket's results."),
]


@router.get("/usage/vector_stores", response_model=UsagePage, openapi_extra={"parameters": _USAGE_LIST_PARAMETERS})
def vector_store_usage(
    *,
    request: Request,
    # Bounds documented, checked by the service (OpenAI's messages).
    start_time: int = Query(json_schema_extra={"minimum": 0, "maximum": MAX_TIMESTAMP}),
    end_time: int | None = Query(None, json_schema_extra={"minimum": 0, "maximum": MAX_TIMESTAMP}),
    bucket_width: str = Query("1d", json_schema_extra={"enum": ["1d"]}),
    limit: int = Query(7, json_schema_extra={"minimum": 1, "maximum": MAX_BUCKETS}),
    page: str | None = None,
    caller: AdminDep,
    svc: ServicesDep,
) -> Response:
    if bucket_width != "1d":
        raise InvalidRequest(
            f"Invalid 'bucket_width': '{bucket_width}'. Usage is counted per day: use '1d'.",
            param="bucket_width",
            code="invalid_value",
        )
    project_ids = svc.projects.usage_project_ids(caller, _list_param(request, "project_ids"))
    return respond(
        svc.usage_reports.vector_store_usage(
            project_ids,
            start_time,
            end_time,
            _list_param(request, "vector_store_ids"),
            _list_param(request, "group_by") or [],
            limit,
            page,
            now(),
        )
    )
