"""The organization (admin) API of a server with key checking on: admin clients, projects, their keys."""

from __future__ import annotations

from typing import Any

import httpx
from openai import OpenAI

from .sdk import http_client
from .servers import ApiServer


def admin_client(server: ApiServer, admin_key: str) -> OpenAI:
    """The SDK's admin API (`client.admin.organization...`), authenticated with an admin key."""
    return OpenAI(
        base_url=server.base_url + "/v1",
        api_key="sk-not-used-by-admin-calls",
        admin_api_key=admin_key,
        _strict_response_validation=True,
        max_retries=0,
    )


def admin_http(server: ApiServer, key: str) -> httpx.Client:
    """Raw HTTP for the organization endpoints the SDK has no method for (creating project keys, quotas)."""
    return http_client(server, key, "/v1/organization")


def create_project_key(server: ApiServer, admin_key: str, project_id: str, **fields: Any) -> dict[str, Any]:
    """POST /v1/organization/projects/{id}/api_keys; returns the created key (with its value)."""
    with admin_http(server, admin_key) as http:
        response = http.post(f"/projects/{project_id}/api_keys", json=fields)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def new_project(server: ApiServer, admin_key: str, name: str = "project", **key_fields: Any) -> tuple[str, str]:
    """A fresh project and one key for it: (project_id, key value)."""
    project = admin_client(server, admin_key).admin.organization.projects.create(name=name)
    return project.id, create_project_key(server, admin_key, project.id, **key_fields)["value"]
