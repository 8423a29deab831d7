"""The app envelope: request ids everywhere and 500s that reveal nothing."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.testclient import TestClient

from vector_store_api.app import create_app

boom = APIRouter()


@boom.get("/v1/boom")
def explode():
    raise RuntimeError("password=hunter2 at /srv/secret/path.py")


def test_unexpected_errors_are_opaque_500s_with_a_request_id():
    client = TestClient(create_app([boom], services=lambda: None), raise_server_exceptions=False)
    response = client.get("/v1/boom")
    assert response.status_code == 500
    body = response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == "server_error"
    assert "hunter2" not in response.text and "secret" not in response.text
    assert response.headers["x-request-id"].startswith("req_")


def test_health_reports_readiness():
    ready = {"value": False}
    client = TestClient(create_app([], services=lambda: None, ready=lambda: ready["value"]))
    assert client.get("/health").status_code == 503
    ready["value"] = True
    assert client.get("/health").json() == {"status": "ok"}
