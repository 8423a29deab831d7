"""Who may do what: API keys, projects (tenants), roles, vector store scopes, limits and quotas.

Key checking is on once an admin key exists: ADMIN_API_KEY (the bootstrap key, an organization
admin), or any key in the database. Until then each bearer token is its own tenant with write access
(local mode's first-run behaviour) and the organization endpoints are off.

Organization admin keys manage projects, keys, limits and quotas and read usage, but cannot touch
vector stores; project keys have a role (`read` < `write` < `admin`) and optionally a list of vector
stores. A project admin manages its own project's keys; limits and quotas are set by organization
admins only (a tenant must not raise its own).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any, Callable

from ..catalog.accounts import Accounts, KeyMatch
from ..errors import AuthenticationFailed, InvalidRequest, NotFound, PermissionDenied
from ..ids import new_id, now
from ..models.admin import (
    READ_ONLY_SCOPE,
    AdminApiKey,
    CreateAdminApiKeyRequest,
    CreateProjectApiKeyRequest,
    CreateProjectRequest,
    DeletedAdminObject,
    KeyOwner,
    Project,
    ProjectApiKey,
    ProjectQuotas,
    ProjectRateLimit,
    QuotaUsage,
    UpdateProjectApiKeyRequest,
    UpdateQuotasRequest,
    UpdateRateLimitRequest,
)
from ..models.common import Page
from ..settings import Settings
from .principal import Principal

PROJECT_PREFIX = "proj_"
KEY_PREFIX = "key_"
PROJECT_KEY_PREFIX = "sk-proj-"
ADMIN_KEY_PREFIX = "sk-admin-"
BOOTSTRAP_KEY_ID = "key_bootstrap"

INVALID_KEY_HINT = "Check the key, or ask an admin of your project for one."
ORG_ADMIN_ONLY = "This operation needs an organization admin key."
KEYS_OFF_MESSAGE = (
    "API key management is off: set ADMIN_API_KEY (or create an admin key with "
    "`python -m vector_store_api.tools.keys create-admin`) to switch key checking on."
)


@dataclass(frozen=True)
class Limits:
    """A project's effective limits: the settings' defaults with the admin's overrides. 0 = unlimited."""

    requests_per_minute: int
    store_writes_per_minute: int
    max_files: int
    max_bytes: int
    max_chunks: int
    max_vector_store_files: int
    max_vector_store_bytes: int
    max_vector_store_chunks: int

    @classmethod
    def defaults(cls, settings: Settings) -> Limits:
        return cls(
            requests_per_minute=settings.rate_limit_requests_per_minute,
            store_writes_per_minute=settings.store_writes_per_minute,
            max_files=settings.quota_max_files,
            max_bytes=settings.quota_max_bytes,
            max_chunks=settings.quota_max_chunks,
            max_vector_store_files=settings.quota_max_vector_store_files,
            max_vector_store_bytes=settings.quota_max_vector_store_bytes,
            max_vector_store_chunks=settings.quota_max_vector_store_chunks,
        )

    def with_overrides(self, overrides: dict[str, Any]) -> Limits:
        known = {f.name for f in fields(self)}
        return Limits(**{**self.__dict__, **{k: int(v) for k, v in overrides.items() if k in known}})


LIMIT_OF_RATE_LIMIT = {"rl-requests": "requests_per_minute", "rl-vector-store-writes": "store_writes_per_minute"}
RATE_LIMIT_DESCRIPTIONS = {
    "rl-requests": "Requests per minute per API key (a key may have a lower limit of its own).",
    "rl-vector-store-writes": "File attaches and file batches per minute per vector store.",
}


def hash_key(key: str) -> str:
    """Keys are 256-bit random strings, so a plain SHA-256 is enough (no password stretching needed)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def redact(key: str) -> str:
    """A listing-safe form: the prefix and a few characters from each end ("sk-proj-Ab3d...x9Yz")."""
    prefix = next((p for p in (PROJECT_KEY_PREFIX, ADMIN_KEY_PREFIX) if key.startswith(p)), "")
    body = key[len(prefix):]
    if len(body) < 16:
        return prefix + "***"
    return f"{prefix}{body[:4]}...{body[-4:]}"


def open_mode_tenant(token: str) -> str:
    """Before any key exists, each distinct bearer token is its own tenant (stored only as a hash)."""
    return "tenant_" + hash_key(token)[:32]


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class AccountService:
    def __init__(
        self, accounts: Accounts, settings: Settings, quota_usage: Callable[[str], QuotaUsage] | None = None
    ):
        """`quota_usage`: what a project stores now, for the quotas endpoint (None: no such endpoint)."""
        self._accounts = accounts
        self._defaults = Limits.defaults(settings)
        admin_key = settings.admin_api_key.get_secret_value() if settings.admin_api_key else None
        self._bootstrap_hash = hash_key(admin_key) if admin_key else None
        self._quota_usage = quota_usage
        self._keys_enabled = self._bootstrap_hash is not None  # latches on: keys never switch off again
        self._cache_seconds = settings.api_key_cache_seconds
        self._cache: dict[str, tuple[float, KeyMatch]] = {}
        self._cache_lock = threading.Lock()

    def _match(self, key_hash: str) -> tuple[KeyMatch, bool]:
        """The key's row (and project), from the short-lived cache or the database; True if fetched."""
        now_mono = time.monotonic()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[0] > now_mono:
            return cached[1], False
        match = self._accounts.match_key(key_hash)
        if self._cache_seconds > 0:
            with self._cache_lock:
                if len(self._cache) > 10_000:  # unknown keys must not grow it without bound
                    self._cache.clear()
                self._cache[key_hash] = (now_mono + self._cache_seconds, match)
        return match, True

    def _changed(self) -> None:
        """Keys, projects or limits changed: forget every cached lookup."""
        with self._cache_lock:
            self._cache.clear()

    # ------------------------------------------------------------------ authentication
    def authenticate(self, token: str) -> Principal:
        cached = self.authenticate_cached(token)
        if cached is not None:
            return cached
        match, fetched = self._match(hash_key(token))
        return self._principal(token, match, fetched)

    def authenticate_cached(self, token: str) -> Principal | None:
        """`authenticate` without I/O: None when the key's row is not cached (call `authenticate`)."""
        presented = hash_key(token)
        if self._bootstrap_hash is not None and hmac.compare_digest(presented, self._bootstrap_hash):
            return self._org_admin(BOOTSTRAP_KEY_ID)
        cached = self._cache.get(presented)
        if cached is None or cached[0] <= time.monotonic():
            return None
        return self._principal(token, cached[1], False)

    def _principal(self, token: str, match: KeyMatch, fetched: bool) -> Principal:
        self._keys_enabled = self._keys_enabled or match.keys_exist
        key = match.key
        if key is None:
            if not self._keys_enabled:
                tenant = open_mode_tenant(token)
                d = self._defaults
                return Principal(tenant, tenant, "write", None, d.requests_per_minute, d.store_writes_per_minute, False)
            raise AuthenticationFailed(
                f"Incorrect API key provided: {redact(token)}. {INVALID_KEY_HINT}", code="invalid_api_key"
            )
        current = now()
        if key["revoked_at"] is not None:
            raise AuthenticationFailed(f"The API key {key['redacted_value']} has been revoked.", code="invalid_api_key")
        if key["expires_at"] is not None and key["expires_at"] <= current:
            raise AuthenticationFailed(
                f"The API key {key['redacted_value']} expired at {_iso(key['expires_at'])}.", code="invalid_api_key"
            )
        if match.project_archived:
            raise AuthenticationFailed(
                f"The project {key['project_id']} of this API key has been archived.", code="invalid_api_key"
            )
        if fetched:
            self._accounts.touch_key(key["id"], current)
        if key["project_id"] is None:
            return self._org_admin(key["id"])
        limits = self._defaults.with_overrides(match.project_limits)
        return Principal(
            key_id=key["id"],
            project_id=key["project_id"],
            role=key["role"],
            vector_store_ids=frozenset(key["vector_store_ids"]) if key["vector_store_ids"] is not None else None,
            requests_per_minute=(
                key["requests_per_minute"] if key["requests_per_minute"] is not None else limits.requests_per_minute
            ),
            store_writes_per_minute=limits.store_writes_per_minute,
        )

    def _org_admin(self, key_id: str) -> Principal:
        d = self._defaults
        return Principal(key_id, None, "admin", None, d.requests_per_minute, d.store_writes_per_minute)

    def limits_for(self, tenant_id: str) -> Limits:
        """Effective limits of a tenant (open-mode tenants have no project row: the defaults)."""
        project = self._accounts.get_project(tenant_id) if tenant_id.startswith(PROJECT_PREFIX) else None
        return self._defaults.with_overrides(project["limits"]) if project else self._defaults

    # ------------------------------------------------------------------ access rules
    @staticmethod
    def require_org_admin(principal: Principal) -> None:
        if not principal.keys_enabled:
            raise PermissionDenied(KEYS_OFF_MESSAGE, code="keys_not_configured")
        if not principal.is_org_admin:
            raise PermissionDenied(ORG_ADMIN_ONLY, code="insufficient_permissions")

    def administered_project(self, principal: Principal, project_id: str) -> dict[str, Any]:
        """The project, if the caller administers it (an org admin, or an admin key of that project)."""
        if not principal.keys_enabled:
            raise PermissionDenied(KEYS_OFF_MESSAGE, code="keys_not_configured")
        if not principal.is_org_admin and principal.project_id != project_id:
            raise NotFound(f"No project found with id '{project_id}'.", param="project_id")
        project = self._accounts.get_project(project_id)
        if project is None:
            raise NotFound(f"No project found with id '{project_id}'.", param="project_id")
        return project

    # ------------------------------------------------------------------ projects
    def create_project(self, principal: Principal, body: CreateProjectRequest) -> Project:
        self.require_org_admin(principal)
        return _to_project(self._accounts.insert_project(new_id(PROJECT_PREFIX), body.name, now()))

    def list_projects(
        self, principal: Principal, limit: int, order: str, after: str | None, before: str | None,
        include_archived: bool,
    ) -> Page:
        if not principal.keys_enabled:
            raise PermissionDenied(KEYS_OFF_MESSAGE, code="keys_not_configured")
        only = None if principal.is_org_admin else [principal.project_id]
        page = self._accounts.list_projects(limit, order, after, before, include_archived, only)  # type: ignore[arg-type]
        return Page([_to_project(row) for row in page.items], page.has_more)

    def retrieve_project(self, principal: Principal, project_id: str) -> Project:
        return _to_project(self.administered_project(principal, project_id))

    def update_project(self, principal: Principal, project_id: str, name: str) -> Project:
        self.require_org_admin(principal)
        self.administered_project(principal, project_id)
        return _to_project(self._accounts.update_project(project_id, {"name": name}))  # type: ignore[arg-type]

    def archive_project(self, principal: Principal, project_id: str) -> Project:
        """Archiving stops every key of the project at once; its data stays (and counts)."""
        self.require_org_admin(principal)
        project = self.administered_project(principal, project_id)
        if project["archived_at"] is None:
            project = self._accounts.update_project(project_id, {"archived_at": now()})  # type: ignore[assignment]
            self._changed()
        return _to_project(project)

    # ------------------------------------------------------------------ project keys
    def create_key(self, principal: Principal, project_id: str, body: CreateProjectApiKeyRequest) -> ProjectApiKey:
        project = self.administered_project(principal, project_id)
        if project["archived_at"] is not None:
            raise InvalidRequest(f"Project {project_id} is archived.", param="project_id", code="project_archived")
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
        self._keys_enabled = True
        self._changed()
        return _to_project_key(row, True, value)

    def _check_grant(
        self,
        principal: Principal,
        store_ids: list[str] | None,
        requests_per_minute: int | None,
        project: dict[str, Any],
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
        self, principal: Principal, project_id: str, limit: int, order: str, after: str | None, before: str | None
    ) -> Page:
        active = self.administered_project(principal, project_id)["archived_at"] is None
        page = self._accounts.list_keys(project_id, limit, order, after, before)  # type: ignore[arg-type]
        return Page([_to_project_key(row, active) for row in page.items], page.has_more)

    def retrieve_key(self, principal: Principal, project_id: str, key_id: str) -> ProjectApiKey:
        active = self.administered_project(principal, project_id)["archived_at"] is None
        return _to_project_key(self._key(project_id, key_id), active)

    def _key(self, project_id: str | None, key_id: str) -> dict[str, Any]:
        row = self._accounts.get_key(project_id, key_id)
        if row is None:
            raise NotFound(f"No API key found with id '{key_id}'.", param="key_id")
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
        self._changed()
        if row is None:
            raise NotFound(f"No API key found with id '{key_id}'.", param="key_id")
        return _to_project_key(row, project["archived_at"] is None)

    def revoke_key(self, principal: Principal, project_id: str, key_id: str) -> DeletedAdminObject:
        self.administered_project(principal, project_id)
        if not self._accounts.revoke_key(project_id, key_id, now()):
            raise NotFound(f"No API key found with id '{key_id}'.", param="key_id")
        self._changed()
        return DeletedAdminObject(object="organization.project.api_key.deleted", id=key_id)

    # ------------------------------------------------------------------ admin keys
    def create_admin_key(self, principal: Principal | None, body: CreateAdminApiKeyRequest) -> AdminApiKey:
        """principal None: the `keys` command-line tool, which bootstraps the first admin key."""
        if principal is not None:
            self.require_org_admin(principal)
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
        self._keys_enabled = True
        self._changed()
        return _to_admin_key(row, value)

    def list_admin_keys(self, principal: Principal, limit: int, order: str, after: str | None, before: str | None) -> Page:
        self.require_org_admin(principal)
        page = self._accounts.list_keys(None, limit, order, after, before)  # type: ignore[arg-type]
        return Page([_to_admin_key(row) for row in page.items], page.has_more)

    def retrieve_admin_key(self, principal: Principal, key_id: str) -> AdminApiKey:
        self.require_org_admin(principal)
        return _to_admin_key(self._key(None, key_id))

    def revoke_admin_key(self, principal: Principal | None, key_id: str) -> DeletedAdminObject:
        if principal is not None:
            self.require_org_admin(principal)
        if not self._accounts.revoke_key(None, key_id, now()):
            raise NotFound(f"No admin API key found with id '{key_id}'.", param="key_id")
        self._changed()
        return DeletedAdminObject(object="organization.admin_api_key.deleted", id=key_id)

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
        self.require_org_admin(principal)
        self.administered_project(principal, project_id)
        if rate_limit_id not in LIMIT_OF_RATE_LIMIT:
            raise NotFound(f"No rate limit found with id '{rate_limit_id}'.", param="rate_limit_id")
        self._accounts.update_limits(project_id, {LIMIT_OF_RATE_LIMIT[rate_limit_id]: body.max_requests_per_1_minute})
        self._changed()
        return next(rl for rl in self.rate_limits(principal, project_id) if rl.id == rate_limit_id)

    def quotas(self, principal: Principal, project_id: str) -> ProjectQuotas:
        limits = self._defaults.with_overrides(self.administered_project(principal, project_id)["limits"])
        return ProjectQuotas(
            project_id=project_id,
            max_files=limits.max_files,
            max_bytes=limits.max_bytes,
            max_chunks=limits.max_chunks,
            max_vector_store_files=limits.max_vector_store_files,
            max_vector_store_bytes=limits.max_vector_store_bytes,
            max_vector_store_chunks=limits.max_vector_store_chunks,
            usage=self._quota_usage(project_id) if self._quota_usage else QuotaUsage(files=0, bytes=0, chunks=0),
        )

    def update_quotas(self, principal: Principal, project_id: str, body: UpdateQuotasRequest) -> ProjectQuotas:
        self.require_org_admin(principal)
        self.administered_project(principal, project_id)
        self._accounts.update_limits(project_id, body.model_dump(exclude_unset=True))
        self._changed()
        return self.quotas(principal, project_id)

    def usage_project_ids(self, principal: Principal, requested: list[str] | None) -> list[str]:
        """The projects whose usage the caller may read: an org admin any (default: all), a project
        admin only its own."""
        if not principal.keys_enabled:
            raise PermissionDenied(KEYS_OFF_MESSAGE, code="keys_not_configured")
        if principal.is_org_admin:
            return requested if requested else self._accounts.all_project_ids()
        own = principal.project_id
        if requested and set(requested) != {own}:
            raise PermissionDenied(
                "A project key can only read its own project's usage.", param="project_ids", code="insufficient_permissions"
            )
        return [own]  # type: ignore[list-item]


def _to_project(row: dict[str, Any]) -> Project:
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
    changes = {k: given[k] for k in ("name", "role", "vector_store_ids", "expires_at", "requests_per_minute") if k in given}
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


_KEY_COLUMNS = ("id", "name", "redacted_value", "created_at", "last_used_at", "expires_at")


def _to_project_key(row: dict[str, Any], project_active: bool, value: str | None = None) -> ProjectApiKey:
    return ProjectApiKey(
        **{column: row[column] for column in _KEY_COLUMNS},
        owner=KeyOwner(
            type="service_account",
            service_account={"id": row["id"], "name": row["name"], "created_at": row["created_at"], "role": row["role"]},
        ),
        owner_project_access="active" if project_active else "inactive",
        project_id=row["project_id"],
        role=row["role"],
        vector_store_ids=row["vector_store_ids"],
        requests_per_minute=row["requests_per_minute"],
        value=value,
    )


def _to_admin_key(row: dict[str, Any], value: str | None = None) -> AdminApiKey:
    return AdminApiKey(**{column: row[column] for column in _KEY_COLUMNS}, value=value)
