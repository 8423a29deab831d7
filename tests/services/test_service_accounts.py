"""Accounts in-process: Authenticator (keys, open mode, the key cache) and ProjectService (projects,
keys, roles, store scopes, limits and quotas) on the real catalog."""

from __future__ import annotations

import uuid

import pytest
from pydantic import SecretStr
from service_harness import ORG_ADMIN, create_database, drop_database, page, service_settings, sql_execute, upload

from vector_store_api.catalog.accounts import Accounts
from vector_store_api.catalog.database import Database
from vector_store_api.errors import AuthenticationFailed, InvalidRequest, NotFound, PermissionDenied
from vector_store_api.ids import now
from vector_store_api.models.admin import (
    CreateAdminApiKeyRequest,
    CreateProjectApiKeyRequest,
    CreateProjectRequest,
    UpdateProjectApiKeyRequest,
    UpdateQuotasRequest,
    UpdateRateLimitRequest,
)
from vector_store_api.services import auth as auth_module
from vector_store_api.services.auth import BOOTSTRAP_KEY_ID, Authenticator, hash_key, open_mode_tenant
from vector_store_api.services.limits import Limits
from vector_store_api.services.projects import ProjectService


def new_key(services, project: str, principal=ORG_ADMIN, **fields):
    """A project key: (its id, its secret value)."""
    key = services.projects.create_key(principal, project, CreateProjectApiKeyRequest(**fields))
    return key.id, key.value


def rejected(auth: Authenticator, token: str) -> AuthenticationFailed:
    with pytest.raises(AuthenticationFailed) as error:
        auth.authenticate(token)
    assert (error.value.status_code, error.value.code) == (401, "invalid_api_key")
    return error.value


# ------------------------------------------------------------------------------ open mode


@pytest.fixture
def empty_accounts(pg_url, tmp_path):
    """A database of its own without any key (open mode), and its settings."""
    url = create_database(pg_url, "openmode")
    db = Database(url, max_size=2)
    yield Accounts(db), service_settings(url, tmp_path)
    db.close()
    drop_database(pg_url, url)


def test_every_token_is_its_own_tenant_until_a_key_exists(empty_accounts):
    accounts, settings = empty_accounts
    auth = Authenticator(accounts, settings)
    caller = auth.authenticate("sk-local-anything")
    assert caller.project_id == open_mode_tenant("sk-local-anything") != open_mode_tenant("sk-other")
    assert (caller.role, caller.vector_store_ids, caller.keys_enabled) == ("write", None, False)
    assert auth.authenticate("sk-other").project_id == open_mode_tenant("sk-other")
    with pytest.raises(PermissionDenied) as off:
        ProjectService(accounts, auth).create_project(caller, CreateProjectRequest(name="x"))
    assert off.value.code == "keys_not_configured"

    other_process = Authenticator(accounts, settings)  # e.g. another Lambda container on the database
    admin = ProjectService(accounts, auth).create_admin_key(None, CreateAdminApiKeyRequest(name="cli"))
    assert admin.value.startswith("sk-admin-")
    assert auth.authenticate(admin.value).is_org_admin
    rejected(auth, "sk-local-anything")  # key checking is on, at once in this process
    rejected(other_process, "sk-other")  # and in any other that looks the key up


def test_the_bootstrap_admin_key_needs_no_lookup(services):
    settings = services.settings.model_copy(
        update={"admin_api_key": SecretStr("sk-admin-bootstrap-" + uuid.uuid4().hex)}
    )
    auth = Authenticator(Accounts(services.db), settings)
    caller = auth.authenticate_cached(settings.admin_api_key.get_secret_value())
    assert caller is not None and caller.is_org_admin and caller.key_id == BOOTSTRAP_KEY_ID
    assert auth.authenticate_cached("sk-proj-unknown") is None  # anything else needs `authenticate`
    rejected(auth, "sk-admin-bootstrap-wrong")


# ------------------------------------------------------------------------------ project keys


def test_a_project_key_authenticates_as_its_project(services, project):
    key_id, value = new_key(services, project, name="ci")
    assert value.startswith("sk-proj-")
    caller = services.auth.authenticate(value)
    assert (caller.key_id, caller.project_id, caller.role, caller.vector_store_ids) == (key_id, project, "write", None)
    assert caller.has_role("read") and caller.has_role("write") and not caller.has_role("admin")
    assert not caller.is_org_admin
    shown = services.projects.retrieve_key(ORG_ADMIN, project, key_id)
    assert shown.value is None and shown.redacted_value.startswith("sk-proj-") and shown.redacted_value != value
    [row] = sql_execute(services.db, "SELECT * FROM api_keys WHERE id = %s", (key_id,))
    assert row["key_hash"] == hash_key(value) and value not in {str(v) for v in row.values()}  # only its hash
    assert sql_execute(services.db, "SELECT last_used_at FROM api_keys WHERE id = %s", (key_id,))[0]["last_used_at"]


def test_an_unknown_key_is_rejected_without_echoing_it(services, project):
    new_key(services, project)  # key checking is on
    error = rejected(services.auth, "sk-proj-" + "x" * 43)
    assert "x" * 20 not in error.message and "Incorrect API key" in error.message


def test_a_revoked_key_is_rejected(services, project):
    key_id, value = new_key(services, project)
    services.auth.authenticate(value)
    deleted = services.projects.revoke_key(ORG_ADMIN, project, key_id)
    assert (deleted.id, deleted.deleted) == (key_id, True)
    assert "has been revoked" in rejected(services.auth, value).message
    with pytest.raises(NotFound):
        services.projects.retrieve_key(ORG_ADMIN, project, key_id)
    with pytest.raises(NotFound):
        services.projects.revoke_key(ORG_ADMIN, project, key_id)
    assert key_id not in [k.id for k in services.projects.list_keys(ORG_ADMIN, project, page(100)).items]


def test_an_expired_key_is_rejected_even_from_the_cache(services, project, monkeypatch):
    key_id, value = new_key(services, project, expires_in_seconds=3600)
    expires_at = services.projects.retrieve_key(ORG_ADMIN, project, key_id).expires_at
    assert services.auth.authenticate(value).key_id == key_id
    assert services.auth.authenticate_cached(value) is not None  # cached now
    monkeypatch.setattr(auth_module, "now", lambda: expires_at)  # the clock reaches the expiry
    with pytest.raises(AuthenticationFailed):  # the cached row is checked at every use
        services.auth.authenticate_cached(value)
    assert "expired at" in rejected(services.auth, value).message
    with pytest.raises(InvalidRequest):  # a key cannot be created already expired
        new_key(services, project, expires_at=now() - 1)


def test_archiving_a_project_stops_its_keys(services, project):
    _, value = new_key(services, project)
    services.auth.authenticate(value)
    archived = services.projects.archive_project(ORG_ADMIN, project)
    assert archived.status == "archived"
    assert "has been archived" in rejected(services.auth, value).message
    with pytest.raises(InvalidRequest) as no_keys:
        new_key(services, project)
    assert no_keys.value.code == "project_archived"


# ------------------------------------------------------------------------------ the key cache


def test_the_cache_serves_repeated_lookups_until_forgotten(services, project):
    key_id, value = new_key(services, project)
    other_process = Authenticator(Accounts(services.db), services.settings)  # caches for 60 s
    assert other_process.authenticate_cached(value) is None  # not looked up yet
    first = other_process.authenticate(value)
    assert other_process.authenticate_cached(value) == first

    services.projects.revoke_key(ORG_ADMIN, project, key_id)  # through this process's ProjectService
    rejected(services.auth, value)  # which forgets its own cache at once
    assert other_process.authenticate(value) == first  # another process keeps its cached row a while
    other_process.forget_cached()
    assert other_process.authenticate_cached(value) is None
    rejected(other_process, value)


def test_without_a_cache_every_lookup_reads_the_database(services, project):
    key_id, value = new_key(services, project)
    uncached = Authenticator(Accounts(services.db), services.settings.model_copy(update={"api_key_cache_seconds": 0}))
    assert uncached.authenticate(value).key_id == key_id
    assert uncached.authenticate_cached(value) is None
    sql_execute(services.db, "UPDATE api_keys SET revoked_at = %s WHERE id = %s", (now(), key_id))
    rejected(uncached, value)  # seen at once, with no forget_cached


# ------------------------------------------------------------------------------ roles and scopes


def test_roles_from_role_or_scopes(services, project):
    _, read = new_key(services, project, scopes=["api.all.read"])
    assert services.auth.authenticate(read).role == "read"
    _, admin = new_key(services, project, role="admin", scopes=[])
    assert services.auth.authenticate(admin).has_role("admin")
    with pytest.raises(InvalidRequest) as disagree:
        new_key(services, project, role="read", scopes=[])
    assert disagree.value.param == "scopes"
    key_id, value = new_key(services, project, role="read")
    services.auth.authenticate(value)
    services.projects.update_key(ORG_ADMIN, project, key_id, UpdateProjectApiKeyRequest(role="write"))
    assert services.auth.authenticate(value).role == "write"  # the update is not hidden by the cache


def test_a_project_admin_manages_only_its_own_project(services, project):
    _, value = new_key(services, project, role="admin")
    project_admin = services.auth.authenticate(value)
    other = services.projects.create_project(ORG_ADMIN, CreateProjectRequest(name="other")).id

    made = services.projects.create_key(project_admin, project, CreateProjectApiKeyRequest(role="read"))
    assert services.auth.authenticate(made.value).project_id == project
    assert [p.id for p in services.projects.list_projects(project_admin, page(100), False).items] == [project]
    for call in (
        lambda: services.projects.create_key(project_admin, other, CreateProjectApiKeyRequest()),
        lambda: services.projects.retrieve_project(project_admin, other),
    ):
        with pytest.raises(NotFound):  # another project is not even shown to exist
            call()
    for call in (
        lambda: services.projects.create_project(project_admin, CreateProjectRequest(name="mine")),
        lambda: services.projects.update_quotas(project_admin, project, UpdateQuotasRequest(max_files=10**6)),
        lambda: services.projects.update_rate_limit(
            project_admin, project, "rl-requests", UpdateRateLimitRequest(max_requests_per_1_minute=10**6)
        ),
    ):
        with pytest.raises(PermissionDenied):  # an org admin's decision, not the tenant's
            call()


def test_store_scoped_keys_grant_only_stores_they_hold(services, project):
    a, b, c = (f"vs_{uuid.uuid4().hex[:20]}" for _ in range(3))
    _, value = new_key(services, project, role="admin", vector_store_ids=[a, b])
    scoped_admin = services.auth.authenticate(value)
    assert scoped_admin.vector_store_ids == frozenset({a, b})
    assert scoped_admin.may_use_store(a) and not scoped_admin.may_use_store(c)

    narrower = services.projects.create_key(scoped_admin, project, CreateProjectApiKeyRequest(vector_store_ids=[a]))
    caller = services.auth.authenticate(narrower.value)
    assert caller.may_use_store(a) and not caller.may_use_store(b)
    for scope in (None, [a, c]):  # every store, or one it does not hold
        with pytest.raises(PermissionDenied) as wider:
            services.projects.create_key(scoped_admin, project, CreateProjectApiKeyRequest(vector_store_ids=scope))
        assert wider.value.param == "vector_store_ids"
    assert services.stores.list(project, page(10), only=caller.vector_store_ids).items == []


# ------------------------------------------------------------------------------ limits


def test_limits_for_defaults_and_overrides(services, project, tenant):
    defaults = Limits.defaults(services.settings)
    assert services.projects.limits_for(tenant) == defaults  # an open-mode tenant has no project row
    assert services.projects.limits_for(project) == defaults

    services.projects.update_quotas(ORG_ADMIN, project, UpdateQuotasRequest(max_files=3, max_vector_store_chunks=50))
    services.projects.update_rate_limit(
        ORG_ADMIN, project, "rl-requests", UpdateRateLimitRequest(max_requests_per_1_minute=42)
    )
    limits = services.projects.limits_for(project)
    assert (limits.requests_per_minute, limits.store_writes_per_minute) == (42, defaults.store_writes_per_minute)
    assert (limits.quotas.max_files, limits.quotas.max_vector_store_chunks) == (3, 50)
    assert limits.quotas.max_vector_store_files == defaults.quotas.max_vector_store_files
    assert services.projects.limits_for(tenant) == defaults  # nobody else's

    services.projects.update_quotas(ORG_ADMIN, project, UpdateQuotasRequest(max_files=None))  # back to default
    assert services.projects.limits_for(project).quotas.max_files == defaults.quotas.max_files
    assert services.projects.limits_for(project).quotas.max_vector_store_chunks == 50


def test_rate_limits_reach_the_principal(services, project):
    _, value = new_key(services, project)
    assert services.auth.authenticate(value).requests_per_minute == services.settings.rate_limit_requests_per_minute
    services.projects.update_rate_limit(
        ORG_ADMIN, project, "rl-requests", UpdateRateLimitRequest(max_requests_per_1_minute=100)
    )
    assert services.auth.authenticate(value).requests_per_minute == 100  # cached lookups were forgotten
    _, own_limit = new_key(services, project, requests_per_minute=7)
    assert services.auth.authenticate(own_limit).requests_per_minute == 7

    project_admin = services.auth.authenticate(new_key(services, project, role="admin")[1])
    with pytest.raises(PermissionDenied) as above:
        services.projects.create_key(project_admin, project, CreateProjectApiKeyRequest(requests_per_minute=101))
    assert above.value.param == "requests_per_minute"
    with pytest.raises(NotFound):
        services.projects.update_rate_limit(
            ORG_ADMIN, project, "rl-unknown", UpdateRateLimitRequest(max_requests_per_1_minute=1)
        )


def test_quotas_report_what_the_project_stores(services, project):
    upload(services, project, "a.txt", "x" * 30)
    upload(services, project, "b.txt", "y" * 12)
    quotas = services.projects.quotas(ORG_ADMIN, project)
    assert (quotas.project_id, quotas.usage.files, quotas.usage.bytes, quotas.usage.chunks) == (project, 2, 42, 0)
    assert quotas.max_files == services.settings.quota_max_files
