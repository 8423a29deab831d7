"""Projects (tenants), their API keys and admin keys, rate limits and quotas: the organization API.

Organization admin keys manage projects, keys, limits and quotas and read usage, but cannot touch
vector stores; project keys have a role (`read` < `write` < `admin`) and optionally a list of vector
stores. A project admin manages its own project's keys; limits and quotas are set by organization
admins only (a tenant must not raise its own).
"""

from __future__ import annotations

import secrets
from typing import Any, Callable, TypedDict, cast

from ..catalog.accounts import Accounts
from ..catalog.records import KeyRow, ProjectRow
from ..errors import InvalidRequest, NotFound, PermissionDenied, shown
from ..ids import ADMIN_KEY_PREFIX, KEY_PREFIX, PROJECT_KEY_PREFIX, PROJECT_PREFIX, new_id, now
from ..models.admin import (
    READ_ONLY_SCOPE,
    AdminApiKey,
    AdminApiKeyDeleted,
    CreateAdminApiKeyRequest,
    CreateProjectApiKeyRequest,
    CreateProjectRequest,
    KeyOwner,
    Project,
    ProjectApiKey,
    ProjectApiKeyDeleted,
    ProjectQuotas,
    ProjectRateLimit,
    QuotaUsage,
    UpdateProjectApiKeyRequest,
    UpdateQuotasRequest,
    UpdateRateLimitRequest,
)
from ..models.common import Page, PageRequest
from .auth import (
    Authenticator,
    hash_key,
    redact,
    require_keys_enabled,
    require_org_admin,
)
from .limits import LIMIT_OF_RATE_LIMIT, RATE_LIMIT_DESCRIPTIONS, Limits, is_rate_limit_id
from .principal import Principal


class ProjectService:
    def __init__(self, accounts: Accounts, auth: Authenticator, quota_usage: Callable[[str], QuotaUsage] | None = None):
        """`quota_usage`: what a project stores now, for the quotas endpoint (None: no such endpoint)."""
        self._accounts = accounts
        self._auth = auth
        self._defaults = auth.defaults
        self._quota_usage = quota_usage

    def limits_for(self, tenant_id: str) -> Limits:
        """Effective limits of a tenant (open-mode tenants have no project row: the defaults)."""
        project = self._accounts.get_project(tenant_id) if tenant_id.startswith(PROJECT_PREFIX) else None
        return self._defaults.with_overrides(project["limits"]) if project else self._defaults

    # ------------------------------------------------------------------ access rules
    def administered_project(self, principal: Principal, project_id: str) -> ProjectRow:
        """The project, if the caller administers it (an org admin, or an admin key of that project)."""
        require_keys_enabled(principal)
        if not principal.is_org_admin and principal.project_id != project_id:
            raise NotFound(f"No project found with id '{shown(project_id)}'.", param="project_id")
        project = self._accounts.get_project(project_id)
        if project is None:
            raise NotFound(f"No project found with id '{shown(project_id)}'.", param="project_id")
        return project

    # ------------------------------------------------------------------ projects
    def create_project(self, principal: Principal, body: CreateProjectRequest) -> Project:
        require_org_admin(principal)
        return _to_project(self._accounts.insert_project(new_id(PROJECT_PREFIX), body.name, now()))

    def list_projects(
        self, principal: Principal, page: PageRequest,
        include_archived: bool,
    ) -> Page[Project]:
        require_keys_enabled(principal)
        only = None if principal.project_id is None else [principal.project_id]  # None: an org admin's key
        found = self._accounts.list_projects(page, include_archived, only)
        return Page([_to_project(row) for row in found.items], found.has_more)

    def retrieve_project(self, principal: Principal, project_id: str) -> Project:
        return _to_project(self.administered_project(principal, project_id))

    def update_project(self, principal: Principal, project_id: str, name: str) -> Project:
        require_org_admin(principal)
        self.administered_project(principal, project_id)
        return _to_project(self._update_project(project_id, {"name": name}))

    def archive_project(self, principal: Principal, project_id: str) -> Project:
        """Archiving stops every key of the project at once; its data stays (and counts)."""
        require_org_admin(principal)
        project = self.administered_project(principal, project_id)
        if project["archived_at"] is None:
            project = self._update_project(project_id, {"archived_at": now()})
            self._auth.forget_cached()
        return _to_project(project)

    def _update_project(self, project_id: str, changes: dict[str, Any]) -> ProjectRow:
        """Update a project just found: projects are never deleted, so it is still there."""
        updated = self._accounts.update_project(project_id, changes)
        if updated is None:
            raise NotFound(f"No project found with id '{shown(project_id)}'.", param="project_id")
        return updated

    # ------------------------------------------------------------------ project keys
    def create_key(self, principal: Principal, project_id: str, body: CreateProjectApiKeyRequest) -> ProjectApiKey:
        project = self.administered_project(principal, project_id)
        if project["archived_at"] is not None:
            raise InvalidRequest(f"Project {shown(project_id)} is archived.", param="project_id", code="project_archived")
        changes = _key_changes(body, body.role)
        self._check_grant(principal, changes.get("vector_store_ids"), changes.get("requests_per_minute"), project)
        value = PROJECT_KEY_PREFIX + secrets.token_urlsafe(32)
        row = self._accounts.insert_key(
            {
                "id": new_id(KEY_PREFIX),
                "project_id": project_id,
                "key_hash": hash_key(value),
                "redacted_value": redact(value),
                "created_at": now(),
                **changes,
            }
        )
        self._auth.key_created()
        return _to_project_key(row, True, value)

    def _check_grant(
        self,
        principal: Principal,
        store_ids: list[str] | None,
        requests_per_minute: int | None,
        project: ProjectRow,
        *,
        scopes_given: bool = True,
    ) -> None:
        """A project admin cannot hand out more than it holds itself, nor a higher limit than the project's.
        (Any role up to admin may be granted: a project admin is one already.)"""
        if principal.is_org_admin:
            return
        if scopes_given and principal.vector_store_ids is not None and (
            store_ids is None or not set(store_ids) <= principal.vector_store_ids
        ):
            raise PermissionDenied(
                "A key scoped to vector stores can only create keys scoped to some of the same vector stores.",
                param="vector_store_ids",
                code="insufficient_permissions",
            )
        project_limit = self._defaults.with_overrides(project["limits"]).requests_per_minute
        if requests_per_minute is not None and project_limit and requests_per_minute > project_limit:
            raise PermissionDenied(
                f"Only an organization admin can give a key more than the project's {project_limit} requests"
                " per minute.",
                param="requests_per_minute",
                code="insufficient_permissions",
            )

    def list_keys(
        self, principal: Principal, project_id: str, page: PageRequest
    ) -> Page[ProjectApiKey]:
        active = self.administered_project(principal, project_id)["archived_at"] is None
        found = self._accounts.list_keys(project_id, page)
        return Page([_to_project_key(row, active) for row in found.items], found.has_more)

    def retrieve_key(self, principal: Principal, project_id: str, key_id: str) -> ProjectApiKey:
        active = self.administered_project(principal, project_id)["archived_at"] is None
        return _to_project_key(self._key(project_id, key_id), active)

    def _key(self, project_id: str | None, key_id: str) -> KeyRow:
        row = self._accounts.get_key(project_id, key_id)
        if row is None:
            raise NotFound(f"No API key found with id '{shown(key_id)}'.", param="key_id")
        return row

    def update_key(
        self, principal: Principal, project_id: str, key_id: str, body: UpdateProjectApiKeyRequest
    ) -> ProjectApiKey:
        project = self.administered_project(principal, project_id)
        current = self._key(project_id, key_id)
        for required in ("name", "role"):
            if required in body.model_fields_set and getattr(body, required) is None:
                raise InvalidRequest(f"'{required}' cannot be null.", param=required, code="invalid_value")
        changes = _key_changes(body, current["role"])
        self._check_grant(
            principal,
            changes.get("vector_store_ids"),
            changes.get("requests_per_minute"),
            project,
            scopes_given="vector_store_ids" in changes,
        )
        row = self._accounts.update_key(project_id, key_id, changes) if changes else current
        self._auth.forget_cached()
        if row is None:
            raise NotFound(f"No API key found with id '{shown(key_id)}'.", param="key_id")
        return _to_project_key(row, project["archived_at"] is None)

    def revoke_key(self, principal: Principal, project_id: str, key_id: str) -> ProjectApiKeyDeleted:
        self.administered_project(principal, project_id)
        if not self._accounts.revoke_key(project_id, key_id, now()):
            raise NotFound(f"No API key found with id '{shown(key_id)}'.", param="key_id")
        self._auth.forget_cached()
        return ProjectApiKeyDeleted(id=key_id)

    # ------------------------------------------------------------------ admin keys
    def create_admin_key(self, principal: Principal | None, body: CreateAdminApiKeyRequest) -> AdminApiKey:
        """principal None: the `keys` command-line tool, which bootstraps the first admin key."""
        if principal is not None:
            require_org_admin(principal)
        value = ADMIN_KEY_PREFIX + secrets.token_urlsafe(32)
        created = now()
        row = self._accounts.insert_key(
            {
                "id": new_id(KEY_PREFIX),
                "project_id": None,
                "name": body.name,
                "role": "admin",
                "key_hash": hash_key(value),
                "redacted_value": redact(value),
                "created_at": created,
                "expires_at": created + body.expires_in_seconds if body.expires_in_seconds else None,
            }
        )
        self._auth.key_created()
        return _to_admin_key(row, value)

    def list_admin_keys(self, principal: Principal, page: PageRequest) -> Page[AdminApiKey]:
        require_org_admin(principal)
        found = self._accounts.list_keys(None, page)
        return Page([_to_admin_key(row) for row in found.items], found.has_more)

    def retrieve_admin_key(self, principal: Principal, key_id: str) -> AdminApiKey:
        require_org_admin(principal)
        return _to_admin_key(self._key(None, key_id))

    def revoke_admin_key(self, principal: Principal | None, key_id: str) -> AdminApiKeyDeleted:
        if principal is not None:
            require_org_admin(principal)
        if not self._accounts.revoke_key(None, key_id, now()):
            raise NotFound(f"No admin API key found with id '{shown(key_id)}'.", param="key_id")
        self._auth.forget_cached()
        return AdminApiKeyDeleted(id=key_id)

    # ------------------------------------------------------------------ rate limits and quotas
    def rate_limits(self, principal: Principal, project_id: str) -> list[ProjectRateLimit]:
        limits = self._defaults.with_overrides(self.administered_project(principal, project_id)["limits"])
        return [
            ProjectRateLimit(
                id=rl_id,
                model=name,
                description=RATE_LIMIT_DESCRIPTIONS[rl_id],
                max_requests_per_1_minute=getattr(limits, name),
            )
            for rl_id, name in LIMIT_OF_RATE_LIMIT.items()
        ]

    def update_rate_limit(
        self, principal: Principal, project_id: str, rate_limit_id: str, body: UpdateRateLimitRequest
    ) -> ProjectRateLimit:
        require_org_admin(principal)
        self.administered_project(principal, project_id)
        if not is_rate_limit_id(rate_limit_id):
            raise NotFound(f"No rate limit found with id '{shown(rate_limit_id)}'.", param="rate_limit_id")
        self._accounts.update_limits(project_id, {LIMIT_OF_RATE_LIMIT[rate_limit_id]: body.max_requests_per_1_minute})
        self._auth.forget_cached()
        return next(rl for rl in self.rate_limits(principal, project_id) if rl.id == rate_limit_id)

    def quotas(self, principal: Principal, project_id: str) -> ProjectQuotas:
        limits = self._defaults.with_overrides(self.administered_project(principal, project_id)["limits"])
        usage = self._quota_usage(project_id) if self._quota_usage else QuotaUsage(files=0, bytes=0, chunks=0)
        return ProjectQuotas(project_id=project_id, usage=usage, **limits.quotas.model_dump())

    def update_quotas(self, principal: Principal, project_id: str, body: UpdateQuotasRequest) -> ProjectQuotas:
        require_org_admin(principal)
        self.administered_project(principal, project_id)
        self._accounts.update_limits(project_id, body.model_dump(exclude_unset=True))
        self._auth.forget_cached()
        return self.quotas(principal, project_id)

    def usage_project_ids(self, principal: Principal, requested: list[str] | None) -> list[str]:
        """The projects whose usage the caller may read: an org admin any (default: all), a project
        admin only its own."""
        require_keys_enabled(principal)
        own = principal.project_id
        if own is None:  # an organization admin
            return requested if requested else self._accounts.all_project_ids()
        if requested and set(requested) != {own}:
            raise PermissionDenied(
                "A project key can only read its own project's usage.", param="project_ids", code="insufficient_permissions"
            )
        return [own]


def _to_project(row: ProjectRow) -> Project:
    return Project(
        id=row["id"],
        name=row["name"],
        created_at=row["created_at"],
        archived_at=row["archived_at"],
        status="archived" if row["archived_at"] is not None else "active",
    )


def _key_changes(body: CreateProjectApiKeyRequest | UpdateProjectApiKeyRequest, current_role: str) -> dict[str, Any]:
    """The key columns a create/update request sets, with OpenAI's `scopes` and `expires_in_seconds`
    turned into a role and an expiry time."""
    given = body.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {k: given[k] for k in ("name", "role", "vector_store_ids", "expires_at", "requests_per_minute") if k in given}
    if isinstance(body, CreateProjectApiKeyRequest):
        changes.setdefault("name", body.name)
        changes.setdefault("role", body.role)
    if body.scopes is not None:
        role = changes.get("role", current_role)
        scoped_role = "read" if body.scopes == [READ_ONLY_SCOPE] else ("write" if role == "read" else role)
        if "role" in given and given["role"] != scoped_role:
            raise InvalidRequest("'role' and 'scopes' disagree; give one of them.", param="scopes", code="invalid_value")
        changes["role"] = scoped_role
    if body.expires_in_seconds is not None:
        changes["expires_at"] = now() + body.expires_in_seconds
    if changes.get("expires_at") is not None and changes["expires_at"] <= now():
        raise InvalidRequest("'expires_at' must be in the future.", param="expires_at", code="invalid_value")
    return changes


class _SharedKeyFields(TypedDict):
    """What project and admin keys show alike (models.admin._ApiKey)."""

    id: str
    name: str
    redacted_value: str
    created_at: int
    last_used_at: int | None
    expires_at: int | None


def _shared_key_fields(row: KeyRow) -> _SharedKeyFields:
    return {
        "id": row["id"],
        "name": row["name"],
        "redacted_value": row["redacted_value"],
        "created_at": row["created_at"],
        "last_used_at": row["last_used_at"],
        "expires_at": row["expires_at"],
    }


def _to_project_key(row: KeyRow, project_active: bool, value: str | None = None) -> ProjectApiKey:
    return ProjectApiKey(
        **_shared_key_fields(row),
        owner=KeyOwner(
            type="service_account",
            service_account={"id": row["id"], "name": row["name"], "created_at": row["created_at"], "role": row["role"]},
        ),
        owner_project_access="active" if project_active else "inactive",
        project_id=cast(str, row["project_id"]),  # a project's key: never None
        role=row["role"],
        vector_store_ids=row["vector_store_ids"],
        requests_per_minute=row["requests_per_minute"],
        value=value,
    )


def _to_admin_key(row: KeyRow, value: str | None = None) -> AdminApiKey:
    return AdminApiKey(**_shared_key_fields(row), value=value)
