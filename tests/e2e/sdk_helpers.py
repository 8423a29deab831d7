"""Helpers shared by the end-to-end SDK tests."""

from __future__ import annotations

import time

import httpx
import psycopg
import pytest
from openai import OpenAI


def upload(client, name: str = "note.txt", text: str = "hello world", purpose: str = "assistants", **kw):
    return client.files.create(file=(name, text.encode("utf-8"), "text/plain"), purpose=purpose, **kw)


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2, what: str = "condition"):
    """Poll `predicate` until it returns a truthy value (returned) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def attach(client, store_id: str, file_id: str):
    vsf = client.vector_stores.files.create_and_poll(
        file_id, vector_store_id=store_id, poll_interval_ms=100, max_wait_seconds=60
    )
    assert vsf.status == "completed", vsf
    return vsf


def assert_error_body(body: dict) -> dict:
    """OpenAI's error shape: {"error": {message, type, param, code}}; returns the inner error."""
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    return error


def db_execute(server, sql: str, params=()):
    with psycopg.connect(server.database_url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else cur.rowcount


# ----------------------------------------------------------------------- keys and projects
def admin_client(server, admin_key: str) -> OpenAI:
    """The SDK's admin API (`client.admin.organization...`), authenticated with an admin key."""
    return OpenAI(
        base_url=server.base_url + "/v1",
        api_key="sk-not-used-by-admin-calls",
        admin_api_key=admin_key,
        _strict_response_validation=True,
        max_retries=0,
    )


def admin_http(server, key: str) -> httpx.Client:
    """Raw HTTP for the organization endpoints the SDK has no method for (creating project keys, quotas)."""
    return httpx.Client(base_url=server.base_url + "/v1/organization", headers={"Authorization": f"Bearer {key}"}, timeout=30)


def create_project_key(server, admin_key: str, project_id: str, **fields) -> dict:
    """POST /v1/organization/projects/{id}/api_keys; returns the created key (with its value)."""
    with admin_http(server, admin_key) as http:
        response = http.post(f"/projects/{project_id}/api_keys", json=fields)
    assert response.status_code == 200, response.text
    return response.json()


def new_project(server, admin_key: str, name: str = "project", **key_fields) -> tuple[str, str]:
    """A fresh project and one key for it: (project_id, key value)."""
    project = admin_client(server, admin_key).admin.organization.projects.create(name=name)
    return project.id, create_project_key(server, admin_key, project.id, **key_fields)["value"]
