"""The served OpenAPI document says what the server does (tests/e2e/test_openapi_schemathesis.py checks
it against a real server): every body declared with its model, OpenAI's error body on every error
status the server sends and no other, the right content types, typed lists and deletions, nothing
untyped. And /openapi.json and /docs are served, without a key, from this machine alone."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from vector_store_api.api.openapi import json_body_model
from vector_store_api.app import all_routers, create_app
from vector_store_api.errors import InsufficientQuota, NotFound, ServiceUnavailable
from vector_store_api.local.server import build_local_app
from vector_store_api.models.common import ErrorResponse
from vector_store_api.settings import Settings

ERROR_STATUSES = {"400", "401", "403", "429", "500", "503", "504"}
METHODS = {"get", "post", "delete", "put", "patch"}


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(all_routers(), services=lambda: None, serve_openapi=True, serve_docs=True)


@pytest.fixture(scope="module")
def http(app: Any) -> TestClient:
    return TestClient(app)


@pytest.fixture(scope="module")
def document(http: TestClient) -> dict[str, Any]:
    response = http.get("/openapi.json")
    assert response.status_code == 200, response.text
    served: dict[str, Any] = response.json()
    return served


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def resolve(document: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    resolved: dict[str, Any] = node
    return resolved


# ---------------------------------------------------------------------------------- served
def test_the_document_is_served_without_a_key(http: TestClient, document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    assert len(list(operations(document))) == 46  # every route of every router
    assert "x-request-id" in http.get("/openapi.json").headers


def test_swagger_ui_is_served_from_the_package_not_a_cdn(http: TestClient) -> None:
    page = http.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in page.text
    links = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(r"url: *'([^']+)'", page.text)
    assert links and not [link for link in links if "//" in link], links  # no other host
    assets = [link for link in links if link.startswith("/docs/assets/")]
    assert len(assets) == 3  # script, stylesheet, icon
    for asset in assets:
        response = http.get(asset)
        assert response.status_code == 200 and len(response.content) > 1000, asset
    assert b"SwaggerUIBundle" in http.get("/docs/assets/swagger-ui-bundle.js").content


def test_both_are_off_unless_asked_for() -> None:
    lambda_style = TestClient(create_app(all_routers(), services=lambda: None))  # what the Lambda handlers build
    assert lambda_style.get("/openapi.json").status_code == 404
    assert lambda_style.get("/docs").status_code == 404


@pytest.mark.parametrize(
    ("openapi_enabled", "docs_enabled", "openapi_status", "docs_status"),
    [(True, True, 200, 200), (True, False, 200, 404), (False, True, 404, 404), (False, False, 404, 404)],
)
def test_the_local_server_serves_them_as_its_settings_say(
    openapi_enabled: bool, docs_enabled: bool, openapi_status: int, docs_status: int, tmp_path: Any
) -> None:
    settings = Settings(
        data_dir=tmp_path, metrics_endpoint=False, openapi_enabled=openapi_enabled, docs_enabled=docs_enabled
    )
    local = TestClient(build_local_app(settings))  # not started: these need no services
    assert local.get("/openapi.json").status_code == openapi_status
    assert local.get("/docs").status_code == docs_status


# ----------------------------------------------------------------------------- request bodies
def test_every_json_body_is_declared_with_its_model(app: Any, document: dict[str, Any]) -> None:
    declared = 0
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        model = json_body_model(route.dependant)
        for method in route.methods:
            operation = document["paths"][route.path_format][method.lower()]
            if model is None:
                continue
            declared += 1
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": f"#/components/schemas/{model.__name__}"}, route.path_format
            assert resolve(document, schema["$ref"])["properties"].keys() == model.model_fields.keys()
            required = any(field.is_required() for field in model.model_fields.values())
            assert operation["requestBody"]["required"] is required
    assert declared == 14


def test_only_the_operations_that_read_a_body_declare_one(document: dict[str, Any]) -> None:
    with_body = {(method, path) for method, path, operation in operations(document) if "requestBody" in operation}
    assert len(with_body) == 15  # the 14 JSON bodies and the upload
    assert all(method == "POST" for method, _ in with_body)
    assert ("POST", "/v1/organization/projects/{project_id}/archive") not in with_body
    assert ("POST", "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel") not in with_body


def test_the_upload_is_multipart_with_a_binary_file_part(document: dict[str, Any]) -> None:
    body = document["paths"]["/v1/files"]["post"]["requestBody"]
    assert list(body["content"]) == ["multipart/form-data"]
    schema = resolve(document, body["content"]["multipart/form-data"]["schema"]["$ref"])
    assert schema["title"] == "CreateFileRequest"
    assert schema["properties"]["file"]["format"] == "binary"
    assert set(schema["required"]) == {"file", "purpose"}
    assert "assistants" in schema["properties"]["purpose"]["enum"]
    assert schema["properties"]["expires_after[seconds]"]["type"] == "integer"  # not anyOf null


def test_the_search_body_has_its_filter_grammar(document: dict[str, Any]) -> None:
    search = document["components"]["schemas"]["SearchRequest"]
    assert search["additionalProperties"] is False  # unknown fields are a 400, as on OpenAI
    assert search["required"] == ["query"]
    assert {"ComparisonFilter", "CompoundFilter", "RankingOptions"} <= set(document["components"]["schemas"])


# ---------------------------------------------------------------------------------- responses
def test_no_operation_declares_a_422(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        assert "422" not in operation["responses"], (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "ValidationError" not in document["components"]["schemas"]


def test_every_operation_declares_the_errors_the_server_sends(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        statuses = set(operation["responses"]) - {"200"}
        expected = ERROR_STATUSES | ({"404"} if "{" in path else set())
        assert expected <= statuses, (method, path, statuses)
        upstream = {"502"} if (method, path) == ("POST", "/v1/responses") else set()  # its model endpoint
        assert statuses <= ERROR_STATUSES | {"404"} | upstream, (method, path, statuses)  # nothing the server never sends
        for status in statuses:
            response = operation["responses"][status]
            assert response["content"] == {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
            }, (method, path, status)
        assert "Retry-After" in operation["responses"]["503"]["headers"]
        assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_the_error_model_is_the_body_the_server_sends() -> None:
    for error in (NotFound("No file found with id 'file-x'.", param="file_id"), InsufficientQuota("over"),
                  ServiceUnavailable("down", 1)):
        assert ErrorResponse.model_validate(error.body()).model_dump() == error.body()
    fields = ErrorResponse.model_json_schema()["$defs"]["Error"]
    assert set(fields["required"]) == {"message", "type", "param", "code"}


def test_every_success_is_typed_json_except_the_file_bytes(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        content = dict(operation["responses"]["200"]["content"])  # a copy: the document is the module's
        if path == "/v1/files/{file_id}/content":
            assert content == {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
            continue
        if (method, path) == ("POST", "/v1/responses"):  # `stream: true` answers server-sent events
            assert content.pop("text/event-stream")["schema"]["type"] == "string"
        assert list(content) == ["application/json"], (method, path)
        ref = content["application/json"]["schema"]["$ref"]
        assert resolve(document, ref)["type"] == "object", (method, path)


def test_lists_and_deletions_are_typed(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    lists = {
        ("GET", "/v1/files"): "FileObject",
        ("GET", "/v1/vector_stores"): "VectorStore",
        ("GET", "/v1/vector_stores/{vector_store_id}/files"): "VectorStoreFile",
        ("GET", "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/files"): "VectorStoreFile",
        ("GET", "/v1/organization/projects"): "Project",
        ("GET", "/v1/organization/projects/{project_id}/api_keys"): "ProjectApiKey",
        ("GET", "/v1/organization/admin_api_keys"): "AdminApiKey",
        ("GET", "/v1/organization/projects/{project_id}/rate_limits"): "ProjectRateLimit",
        ("GET", "/v1/organization/projects/{project_id}/vector_store_stats"): "VectorStoreStats",
    }
    for (method, path), item in lists.items():
        page = resolve(document, document["paths"][path][method.lower()]["responses"]["200"]["content"]
                       ["application/json"]["schema"]["$ref"])
        assert page["properties"]["object"]["const"] == "list"
        assert page["properties"]["data"]["items"] == {"$ref": f"#/components/schemas/{item}"}, path
    deletions = {
        "/v1/files/{file_id}": "file",
        "/v1/vector_stores/{vector_store_id}": "vector_store.deleted",
        "/v1/vector_stores/{vector_store_id}/files/{file_id}": "vector_store.file.deleted",
        "/v1/organization/projects/{project_id}/api_keys/{key_id}": "organization.project.api_key.deleted",
        "/v1/organization/admin_api_keys/{key_id}": "organization.admin_api_key.deleted",
    }
    for path, kind in deletions.items():
        ref = document["paths"][path]["delete"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert resolve(document, ref)["properties"]["object"]["const"] == kind, path
    assert schemas["FileDeleted"]["properties"]["deleted"]["type"] == "boolean"


def _untyped(node: Any, where: str) -> Iterator[str]:
    """Schemas that say nothing of their value (`{}`, or properties with no type): `Any` to a client."""
    if isinstance(node, dict):
        for key in ("properties", "$defs"):
            for name, child in node.get(key, {}).items():
                if isinstance(child, dict) and not child.keys() & {"type", "$ref", "anyOf", "oneOf", "allOf", "const", "enum"}:
                    yield f"{where}.{name}"
        for key, child in node.items():
            if key in ("schema", "items", "additionalProperties") and child == {}:
                yield f"{where}.{key}"
            yield from _untyped(child, f"{where}.{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _untyped(child, f"{where}[{index}]")


def test_nothing_is_untyped(document: dict[str, Any]) -> None:
    assert list(_untyped(document, "")) == []
    assert '"schema": {}' not in json.dumps(document)


def test_operation_ids_are_the_route_names(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert {"create_file", "search_vector_store", "create_file_batch", "vector_store_usage"} <= set(ids)


def test_the_api_key_is_declared_as_bearer_auth(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["ApiKeyAuth"]["description"],
    }
    assert document["security"] == [{"ApiKeyAuth": []}]


def test_optional_query_parameters_are_plain_types(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            assert "anyOf" not in parameter["schema"], (method, path, parameter["name"])
    usage = {p["name"]: p for p in document["paths"]["/v1/organization/usage/vector_stores"]["get"]["parameters"]}
    assert usage["project_ids"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert usage["start_time"]["required"] is True


def test_the_command_writes_the_served_document(document: dict[str, Any], tmp_path: Any) -> None:
    from vector_store_api.tools.openapi import main

    assert main(["--output", str(tmp_path / "openapi.json")]) == 0
    assert json.loads((tmp_path / "openapi.json").read_text()) == document


def test_ids_are_declared_with_their_prefix(document: dict[str, Any]) -> None:
    """The service refuses an id of another kind with a 400, so the document says which ids are valid."""
    prefixes = {"file_id": "^file-", "vector_store_id": "^vs_", "batch_id": "^vsfb_"}
    for method, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["name"] in prefixes:
                assert parameter["schema"]["pattern"] == prefixes[parameter["name"]], (method, path)
    attach = document["components"]["schemas"]["CreateVectorStoreFileRequest"]["properties"]["file_id"]
    assert attach["pattern"] == "^file-"
