"""End to end: API keys, projects (tenants), roles, vector store scopes, revocation and expiry, through
the official SDK (its admin API included) against a server with key checking on."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import httpx
import openai
import pytest
from tests.support.admin import admin_client, admin_http, create_project_key, new_project
from tests.support.db import db_execute
from tests.support.sdk import assert_error_body, attach, make_client, upload, wait_until
from tests.support.servers import ADMIN_API_KEY, ServerProcess


@pytest.fixture(scope="module")
def admin(keys_server):
    return admin_client(keys_server, ADMIN_API_KEY)


def _store_with_file(client, text: str = "the quick brown fox"):
    store = client.vector_stores.create(name="s")
    file = upload(client, text=text)
    attach(client, store.id, file.id)
    return store, file


def _error(excinfo) -> dict:
    return assert_error_body({"error": excinfo.value.body})


# ------------------------------------------------------------------------------- admin API
def test_sdk_admin_api_manages_projects(admin):
    project = admin.admin.organization.projects.create(name="alpha")
    assert project.id.startswith("proj_") and project.name == "alpha" and project.status == "active"
    assert admin.admin.organization.projects.retrieve(project.id) == project
    renamed = admin.admin.organization.projects.update(project.id, name="alpha-2")
    assert renamed.name == "alpha-2"
    listed = [p.id for p in admin.admin.organization.projects.list(limit=100)]
    assert project.id in listed

    archived = admin.admin.organization.projects.archive(project.id)
    assert archived.status == "archived" and archived.archived_at is not None
    assert project.id not in [p.id for p in admin.admin.organization.projects.list(limit=100)]
    with_archived = admin.admin.organization.projects.list(limit=100, include_archived=True)
    assert project.id in [p.id for p in with_archived]

    with pytest.raises(openai.NotFoundError):
        admin.admin.organization.projects.retrieve("proj_missing")


def test_admin_api_keys_are_shown_once_and_revocable(keys_server, admin):
    created = admin.admin.organization.admin_api_keys.create(name="ops")
    assert created.value.startswith("sk-admin-") and created.name == "ops"
    assert created.redacted_value.startswith("sk-admin-") and created.value not in created.redacted_value

    second_admin = admin_client(keys_server, created.value)
    assert second_admin.admin.organization.projects.list().data is not None  # the new key works
    retrieved = admin.admin.organization.admin_api_keys.retrieve(created.id)
    assert retrieved.redacted_value == created.redacted_value
    assert "value" not in retrieved.model_dump()
    assert created.id in [k.id for k in admin.admin.organization.admin_api_keys.list(limit=100).data]

    deleted = admin.admin.organization.admin_api_keys.delete(created.id)
    assert deleted.deleted and deleted.object == "organization.admin_api_key.deleted"
    with pytest.raises(openai.AuthenticationError) as info:
        second_admin.admin.organization.projects.list()
    assert "revoked" in _error(info)["message"]
    assert created.id not in [k.id for k in admin.admin.organization.admin_api_keys.list(limit=100).data]


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/admin_api_keys", {"expires_in_seconds": 10**29}, "expires_in_seconds"),  # schemathesis found it: a 500
        ("/projects/{project}/api_keys", {"expires_at": 2**63}, "expires_at"),
        ("/projects/{project}/api_keys", {"requests_per_minute": 2**31}, "requests_per_minute"),
    ],
)
def test_values_past_what_the_catalog_stores_are_400s(keys_server, path, body, param):
    """A key's expiry is a bigint of seconds and its per-key limit an integer column: past them a
    request was a 500 from PostgreSQL."""
    project, _ = new_project(keys_server, ADMIN_API_KEY)
    with admin_http(keys_server, ADMIN_API_KEY) as http:
        response = http.post(path.format(project=project), json=body)
    assert response.status_code == 400, response.text
    assert assert_error_body(response.json())["param"] == param


def test_project_key_value_is_shown_once_and_stored_only_as_a_hash(keys_server, admin):
    project = admin.admin.organization.projects.create(name="hashing")
    created = create_project_key(keys_server, ADMIN_API_KEY, project.id, name="ci", role="write")
    value = created["value"]
    assert value.startswith("sk-proj-") and len(value) >= 40
    assert created["role"] == "write" and created["vector_store_ids"] is None and created["project_id"] == project.id

    retrieved = admin.admin.organization.projects.api_keys.retrieve(created["id"], project_id=project.id)
    assert retrieved.redacted_value == created["redacted_value"] and "..." in retrieved.redacted_value
    assert "value" not in retrieved.model_dump()
    assert retrieved.owner.type == "service_account" and retrieved.owner_project_access == "active"
    listed = admin.admin.organization.projects.api_keys.list(project.id)
    assert [k.id for k in listed.data] == [created["id"]]

    rows = db_execute(keys_server, "SELECT key_hash, api_keys::text FROM api_keys WHERE id = %s", (created["id"],))
    key_hash, whole_row = rows[0]
    assert key_hash == hashlib.sha256(value.encode()).hexdigest()
    assert value not in whole_row  # the secret itself is nowhere in the database


# ---------------------------------------------------------------------------- 401 / 403 / 404
def test_unknown_revoked_and_expired_keys_are_401(keys_server, admin):
    stranger = make_client(keys_server.base_url, api_key="sk-proj-" + "x" * 43)
    with pytest.raises(openai.AuthenticationError) as info:
        stranger.vector_stores.list()
    error = _error(info)
    assert error["code"] == "invalid_api_key" and "x" * 20 not in error["message"]  # the key is not echoed

    project_id, value = new_project(keys_server, ADMIN_API_KEY, "revoking")
    client = make_client(keys_server.base_url, api_key=value)
    client.vector_stores.list()
    key_id = admin.admin.organization.projects.api_keys.list(project_id).data[0].id
    deleted = admin.admin.organization.projects.api_keys.delete(key_id, project_id=project_id)
    assert deleted.deleted and deleted.object == "organization.project.api_key.deleted"
    with pytest.raises(openai.AuthenticationError) as info:
        client.vector_stores.list()
    assert _error(info)["code"] == "invalid_api_key" and "revoked" in _error(info)["message"]
    with pytest.raises(openai.NotFoundError):
        admin.admin.organization.projects.api_keys.retrieve(key_id, project_id=project_id)

    expiring = create_project_key(keys_server, ADMIN_API_KEY, project_id, expires_in_seconds=2)
    assert expiring["expires_at"] is not None
    short_lived = make_client(keys_server.base_url, api_key=expiring["value"])
    short_lived.vector_stores.list()  # works until it expires

    def expired() -> bool:
        try:
            short_lived.vector_stores.list()
        except openai.AuthenticationError as error:
            return "expired" in error.message
        return False

    wait_until(expired, timeout=10, what="the key to expire")


def test_random_tokens_are_not_tenants_once_keys_are_on(keys_server):
    response = httpx.get(keys_server.base_url + "/v1/files", headers={"Authorization": "Bearer anything-at-all"})
    assert response.status_code == 401
    assert assert_error_body(response.json())["code"] == "invalid_api_key"


def test_read_key_reads_and_every_write_is_403(keys_server):
    project_id, write_value = new_project(keys_server, ADMIN_API_KEY, "roles")
    writer = make_client(keys_server.base_url, api_key=write_value)
    store, file = _store_with_file(writer)
    batch_store = writer.vector_stores.create(name="b")
    batch = writer.vector_stores.file_batches.create(batch_store.id, file_ids=[file.id])

    reader = make_client(
        keys_server.base_url, api_key=create_project_key(keys_server, ADMIN_API_KEY, project_id, role="read")["value"]
    )
    assert [s.id for s in reader.vector_stores.list().data] == [batch_store.id, store.id]
    assert reader.vector_stores.retrieve(store.id).file_counts.completed == 1
    assert reader.vector_stores.search(store.id, query="fox").data
    assert reader.vector_stores.files.list(store.id).data[0].id == file.id
    assert reader.vector_stores.files.content(file.id, vector_store_id=store.id).data
    assert reader.files.retrieve(file.id).id == file.id
    assert reader.files.content(file.id).read() == b"the quick brown fox"
    assert reader.vector_stores.file_batches.retrieve(batch.id, vector_store_id=batch_store.id).id == batch.id

    writes = {
        "upload file": lambda: upload(reader),
        "delete file": lambda: reader.files.delete(file.id),
        "create store": lambda: reader.vector_stores.create(name="x"),
        "update store": lambda: reader.vector_stores.update(store.id, name="x"),
        "delete store": lambda: reader.vector_stores.delete(store.id),
        "attach file": lambda: reader.vector_stores.files.create(store.id, file_id=file.id),
        "update file attributes": lambda: reader.vector_stores.files.update(
            file.id, vector_store_id=store.id, attributes={"a": "b"}
        ),
        "detach file": lambda: reader.vector_stores.files.delete(file.id, vector_store_id=store.id),
        "create batch": lambda: reader.vector_stores.file_batches.create(store.id, file_ids=[file.id]),
        "cancel batch": lambda: reader.vector_stores.file_batches.cancel(batch.id, vector_store_id=batch_store.id),
    }
    for name, call in writes.items():
        with pytest.raises(openai.PermissionDeniedError) as info:
            call()
        error = _error(info)
        assert error["code"] == "insufficient_permissions" and "'read' role" in error["message"], name
    assert writer.vector_stores.retrieve(store.id).name == "s"  # nothing changed
    assert writer.files.retrieve(file.id).id == file.id

    with admin_http(keys_server, write_value) as http:  # organization endpoints need the admin role
        denied = http.get(f"/projects/{project_id}/api_keys")
    assert denied.status_code == 403 and assert_error_body(denied.json())["code"] == "insufficient_permissions"


def test_admin_keys_cannot_use_the_vector_store_api(keys_server):
    client = make_client(keys_server.base_url, api_key=ADMIN_API_KEY)
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.vector_stores.list()
    assert "/v1/organization" in _error(info)["message"]


def test_other_tenants_objects_stay_404(keys_server):
    _, key_a = new_project(keys_server, ADMIN_API_KEY, "tenant-a")
    _, key_b = new_project(keys_server, ADMIN_API_KEY, "tenant-b")
    a = make_client(keys_server.base_url, api_key=key_a)
    b = make_client(keys_server.base_url, api_key=key_b)
    store, file = _store_with_file(a)

    for call in (
        lambda: b.vector_stores.retrieve(store.id),
        lambda: b.vector_stores.search(store.id, query="fox"),
        lambda: b.vector_stores.delete(store.id),
        lambda: b.vector_stores.files.list(store.id),
        lambda: b.files.retrieve(file.id),
        lambda: b.files.delete(file.id),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    assert b.vector_stores.list().data == [] and b.files.list().data == []
    assert a.vector_stores.retrieve(store.id).file_counts.completed == 1


def test_store_scoped_key(keys_server):
    project_id, write_value = new_project(keys_server, ADMIN_API_KEY, "scopes")
    owner = make_client(keys_server.base_url, api_key=write_value)
    allowed, allowed_file = _store_with_file(owner, "allowed text")
    other, other_file = _store_with_file(owner, "other text")
    _, foreign_key = new_project(keys_server, ADMIN_API_KEY, "foreign")
    foreign_store = make_client(keys_server.base_url, api_key=foreign_key).vector_stores.create(name="f")

    scoped_key = create_project_key(
        keys_server, ADMIN_API_KEY, project_id, role="write", vector_store_ids=[allowed.id, foreign_store.id]
    )
    assert scoped_key["vector_store_ids"] == [allowed.id, foreign_store.id]
    scoped = make_client(keys_server.base_url, api_key=scoped_key["value"])

    assert [s.id for s in scoped.vector_stores.list().data] == [allowed.id]
    assert scoped.vector_stores.search(allowed.id, query="allowed").data
    for call in (
        lambda: scoped.vector_stores.retrieve(other.id),
        lambda: scoped.vector_stores.search(other.id, query="other"),
        lambda: scoped.vector_stores.files.list(other.id),
        lambda: scoped.vector_stores.delete(other.id),
        lambda: scoped.vector_stores.create(name="new"),
    ):
        with pytest.raises(openai.PermissionDeniedError) as info:
            call()
        assert _error(info)["code"] == "insufficient_permissions"
    with pytest.raises(openai.NotFoundError):  # in scope, but another tenant's: still 404
        scoped.vector_stores.retrieve(foreign_store.id)

    with pytest.raises(openai.NotFoundError):  # only in a store outside the scope: not one it sees
        scoped.files.delete(other_file.id)
    attach(owner, allowed.id, other_file.id)
    with pytest.raises(openai.PermissionDeniedError) as info:  # seen, but also in a store outside the scope
        scoped.files.delete(other_file.id)
    assert other.id in _error(info)["message"]
    assert owner.vector_stores.retrieve(other.id).file_counts.completed == 1
    assert scoped.files.delete(allowed_file.id).deleted  # only in stores within the scope
    assert [f.id for f in owner.vector_stores.files.list(allowed.id).data] == [other_file.id]


def test_project_admin_key_manages_only_its_project(keys_server, admin):
    project_id, admin_value = new_project(keys_server, ADMIN_API_KEY, "self-managed", role="admin")
    other_project = admin.admin.organization.projects.create(name="someone-else")
    project_admin = admin_client(keys_server, admin_value)

    created = create_project_key(keys_server, admin_value, project_id, role="read", name="reader")
    assert created["role"] == "read"
    assert {k.id for k in project_admin.admin.organization.projects.api_keys.list(project_id).data} >= {created["id"]}
    assert [p.id for p in project_admin.admin.organization.projects.list().data] == [project_id]
    assert project_admin.admin.organization.projects.retrieve(project_id).id == project_id
    make_client(keys_server.base_url, api_key=admin_value).vector_stores.create(name="admins-write-too")

    with pytest.raises(openai.NotFoundError):
        project_admin.admin.organization.projects.api_keys.list(other_project.id)
    with pytest.raises(openai.PermissionDeniedError):
        project_admin.admin.organization.projects.create(name="nope")
    with pytest.raises(openai.PermissionDeniedError):
        project_admin.admin.organization.projects.rate_limits.update_rate_limit(
            "rl-requests", project_id=project_id, max_requests_per_1_minute=10**6
        )
    with pytest.raises(openai.PermissionDeniedError):
        project_admin.admin.organization.admin_api_keys.list()
    with admin_http(keys_server, admin_value) as http:
        assert http.get(f"/projects/{project_id}/quotas").status_code == 200  # may read its quotas
        denied = http.post(f"/projects/{project_id}/quotas", json={"max_files": 10**9})  # not raise them
        assert denied.status_code == 403
        too_fast = http.post(f"/projects/{project_id}/api_keys", json={"requests_per_minute": 10**9})
        assert too_fast.status_code == 403 and "organization admin" in too_fast.json()["error"]["message"]

    scoped_admin = create_project_key(
        keys_server, ADMIN_API_KEY, project_id, role="admin", vector_store_ids=["vs_only"]
    )["value"]
    with admin_http(keys_server, scoped_admin) as http:
        unscoped = http.post(f"/projects/{project_id}/api_keys", json={"role": "write"})
        assert unscoped.status_code == 403  # cannot hand out more than it holds
        narrower = http.post(f"/projects/{project_id}/api_keys", json={"vector_store_ids": ["vs_only"]})
        assert narrower.status_code == 200


def test_sdk_updates_scopes_and_expiry(keys_server, admin):
    project_id, value = new_project(keys_server, ADMIN_API_KEY, "updating")
    client = make_client(keys_server.base_url, api_key=value)
    key_id = admin.admin.organization.projects.api_keys.list(project_id).data[0].id

    admin.admin.organization.projects.api_keys.update(key_id, project_id=project_id, scopes=["api.all.read"])
    client.vector_stores.list()
    with pytest.raises(openai.PermissionDeniedError):
        client.vector_stores.create(name="read-only now")

    updated = admin.admin.organization.projects.api_keys.update(
        key_id, project_id=project_id, scopes=[], expires_in_seconds=3600
    )
    assert updated.expires_at is not None
    assert client.vector_stores.create(name="writable again").name == "writable again"

    with admin_http(keys_server, ADMIN_API_KEY) as http:
        body = http.post(f"/projects/{project_id}/api_keys/{key_id}", json={"role": "read", "expires_at": None}).json()
        assert body["role"] == "read" and body["expires_at"] is None
        bad = http.post(f"/projects/{project_id}/api_keys/{key_id}", json={"role": "owner"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "role"


def test_archiving_a_project_stops_its_keys(keys_server, admin):
    project_id, value = new_project(keys_server, ADMIN_API_KEY, "to-archive")
    client = make_client(keys_server.base_url, api_key=value)
    client.vector_stores.list()
    admin.admin.organization.projects.archive(project_id)
    with pytest.raises(openai.AuthenticationError) as info:
        client.vector_stores.list()
    assert "archived" in _error(info)["message"]
    key = admin.admin.organization.projects.api_keys.list(project_id).data[0]
    assert key.owner_project_access == "inactive"


def test_rate_limits_per_project_and_per_key(keys_server, admin):
    project_id, value = new_project(keys_server, ADMIN_API_KEY, "limited")
    limits = admin.admin.organization.projects.rate_limits.list_rate_limits(project_id).data
    assert {rl.id: rl.max_requests_per_1_minute for rl in limits} == {
        "rl-requests": 1_000_000,  # the server's RATE_LIMIT_REQUESTS_PER_MINUTE
        "rl-vector-store-writes": 1_000_000,
    }
    updated = admin.admin.organization.projects.rate_limits.update_rate_limit(
        "rl-requests", project_id=project_id, max_requests_per_1_minute=3
    )
    assert updated.max_requests_per_1_minute == 3

    client = make_client(keys_server.base_url, api_key=value)
    for remaining in (2, 1, 0):
        raw = client.vector_stores.with_raw_response.list()
        assert raw.headers["x-ratelimit-limit-requests"] == "3"
        assert raw.headers["x-ratelimit-remaining-requests"] == str(remaining)
    with pytest.raises(openai.RateLimitError) as info:
        client.vector_stores.list()
    assert _error(info)["code"] == "rate_limit_exceeded"

    own_limit = create_project_key(keys_server, ADMIN_API_KEY, project_id, requests_per_minute=2)
    assert own_limit["requests_per_minute"] == 2
    raw = make_client(keys_server.base_url, api_key=own_limit["value"]).vector_stores.with_raw_response.list()
    assert raw.headers["x-ratelimit-limit-requests"] == "2"  # its own bucket, its own limit

    with pytest.raises(openai.NotFoundError):
        admin.admin.organization.projects.rate_limits.update_rate_limit(
            "rl-nope", project_id=project_id, max_requests_per_1_minute=1
        )


# ---------------------------------------------------------------------- open mode and bootstrap
def test_open_mode_until_an_admin_key_is_created_with_the_cli(tmp_path):
    server = ServerProcess(tmp_path, EMBEDDING_PROVIDER="hash").start()
    try:
        first = make_client(server.base_url)  # any token is its own tenant
        store = first.vector_stores.create(name="mine")
        assert make_client(server.base_url).vector_stores.list().data == []
        with admin_http(server, "sk-anything") as http:
            off = http.get("/projects")
        assert off.status_code == 403 and assert_error_body(off.json())["code"] == "keys_not_configured"

        env = {**server.env}
        created = subprocess.run(
            [sys.executable, "-m", "vector_store_api.tools.keys", "create-admin", "--name", "bootstrap"],
            env=env, capture_output=True, text=True, timeout=120,
        )
        assert created.returncode == 0, created.stderr
        key_id, admin_key = created.stdout.split()
        assert admin_key.startswith("sk-admin-") and "not shown again" in created.stderr

        def rejected() -> bool:  # from now on only issued keys work (the server notices within
            try:  # API_KEY_CACHE_SECONDS: the key was made by another process)
                first.vector_stores.retrieve(store.id)
            except openai.AuthenticationError:
                return True
            return False

        wait_until(rejected, timeout=10, what="the server to switch key checking on")
        cli_admin = admin_client(server, admin_key)
        project = cli_admin.admin.organization.projects.create(name="first project")
        assert cli_admin.admin.organization.projects.list().data == [project]

        listed = subprocess.run(
            [sys.executable, "-m", "vector_store_api.tools.keys", "list-admin"],
            env=env, capture_output=True, text=True, timeout=120,
        )
        assert key_id in listed.stdout and admin_key not in listed.stdout
        revoked = subprocess.run(
            [sys.executable, "-m", "vector_store_api.tools.keys", "revoke-admin", key_id],
            env=env, capture_output=True, text=True, timeout=120,
        )
        assert revoked.returncode == 0, revoked.stderr

        def admin_rejected() -> bool:
            try:
                cli_admin.admin.organization.projects.list()
            except openai.AuthenticationError:
                return True
            return False

        wait_until(admin_rejected, timeout=10, what="the revocation to reach the server")
    finally:
        server.stop()


def test_unique_key_names_are_not_required_and_ids_are_distinct(keys_server):
    project_id, _ = new_project(keys_server, ADMIN_API_KEY, "names")
    keys = [create_project_key(keys_server, ADMIN_API_KEY, project_id, name="same") for _ in range(3)]
    assert len({k["id"] for k in keys}) == 3 and len({k["value"] for k in keys}) == 3
