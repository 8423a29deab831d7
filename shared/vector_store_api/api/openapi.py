"""The served OpenAPI document (`GET /openapi.json`) and its explorer (`GET /docs`), both read-only and
unauthenticated.

The document is FastAPI's, generated from the routes, then made to say what the server does:
- JSON bodies are read by `JsonBody` (bounded while they stream, OpenAI's messages), so FastAPI sees
  none of them: each route's `JsonBody` model is declared here as its request body.
- FastAPI adds a 422 to every operation with parameters; the server never sends one (a validation
  error is OpenAI's 400), so they are dropped. The errors the server does send are declared on the
  routers (`COMMON_ERRORS`, `NOT_FOUND`) with OpenAI's error body, `ErrorResponse`.
- An optional query parameter reads `anyOf: [X, null]`; a query string cannot say null, so it is X.
- The API key is read by hand as well: the bearer scheme is declared here, for every operation.
- Every response carries `x-request-id`.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Iterator

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ..models.common import ErrorResponse
from .deps import JsonBody

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
# Swagger UI's script and stylesheet, served from the fastapi-offline package (never from a CDN: the
# server, or the browser looking at it, may have no internet).
DOCS_ASSETS_PATH = "/docs/assets"
SECURITY_SCHEME = "ApiKeyAuth"  # OpenAI's name for it
REF_PREFIX = "#/components/schemas/"

_ERROR_DESCRIPTIONS = {
    400: "Invalid request: a bad or missing parameter, a malformed body, a limit exceeded.",
    401: "No API key, or one that is unknown, revoked or expired.",
    403: "The API key's role or vector store scope does not allow this.",
    404: "No such object (or it belongs to another project).",
    429: "A rate limit (`type` `requests`) or a quota (`type` `insufficient_quota`) was reached.",
    500: "The server had an error (no internals are shown).",
    502: "The model endpoint behind /v1/responses failed (its 5xx, or it refused the server's credentials).",
    503: "A dependency (database, OpenSearch, embeddings endpoint) is unavailable, or the server is shutting "
    "down; retry after `Retry-After`.",
    504: "The request ran past its time budget (REQUEST_TIMEOUT_SECONDS), or the model endpoint behind"
    " /v1/responses did not answer in time.",
}
_RETRY_AFTER = {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
_ERROR_HEADERS: dict[int, dict[str, Any]] = {
    429: {
        "Retry-After": _RETRY_AFTER,
        "retry-after-ms": {"description": "Milliseconds to wait before retrying.", "schema": {"type": "integer"}},
        "x-should-retry": {"description": "`false` on a quota: retrying cannot succeed.", "schema": {"type": "string"}},
    },
    503: {"Retry-After": _RETRY_AFTER},
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for these error statuses, each with OpenAI's error body. The body is a
    reference, not `"model": ErrorResponse`: FastAPI builds a serializer for every model response of
    every route when the route is made, which a Lambda handler pays at each cold start (measured: the
    organization routes took ~20 ms longer to import that way, ~2 ms with references). The document
    adds the schema referred to."""
    content = {"application/json": {"schema": {"$ref": REF_PREFIX + ErrorResponse.__name__}}}
    return {
        status: {"description": _ERROR_DESCRIPTIONS[status], "content": content}
        | ({"headers": _ERROR_HEADERS[status]} if status in _ERROR_HEADERS else {})
        for status in statuses
    }


# What any operation may answer: a bad parameter, no key, the wrong role, a rate limit, a fault, an
# outage (or shutdown), the request's time budget spent.
COMMON_ERRORS = error_responses(400, 401, 403, 429, 500, 503, 504)
# Operations that look an object up by id.
NOT_FOUND = error_responses(404)
# A binary download (file content).
BINARY_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file's bytes.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def operation_id(route: APIRoute) -> str:
    """An operation's id is its route function's name (`create_vector_store`): what generated clients
    name their methods after."""
    return route.name


def install(app: FastAPI, *, docs: bool) -> None:
    """`app` was made with `openapi_url=OPENAPI_PATH` (FastAPI serves the document there, from
    `app.openapi()`); with `docs`, Swagger UI is served at DOCS_PATH."""
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]  # FastAPI's documented hook
    if docs:
        _install_docs(app)


def _install_docs(app: FastAPI) -> None:
    from fastapi.staticfiles import StaticFiles

    assets = resources.files("fastapi_offline") / "static"
    app.mount(DOCS_ASSETS_PATH, StaticFiles(directory=str(assets)), name="docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + OPENAPI_PATH,
            title=app.title,
            swagger_js_url=f"{root}{DOCS_ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS_PATH}/favicon.png",
            oauth2_redirect_url=None,
            # No badge from Swagger's online validator: nothing leaves the machine.
            swagger_ui_parameters={"validatorUrl": None},
        )

    app.add_route(DOCS_PATH, swagger_ui, include_in_schema=False)


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The document for `app`'s routes, built once."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        # Included routers are route contexts: each an APIRoute with its router's prefix and dependencies.
        routes = [
            route
            for route in iter_route_contexts(app.routes)
            if isinstance(route.original_route, APIRoute) and route.include_in_schema
        ]
        _declare_json_bodies(document, routes)
        _drop_validation_errors(document)
        _plain_query_parameters(document)
        _name_upload_bodies(document)
        _declare_bearer_auth(document)
        _declare_request_id(document)
        app.openapi_schema = document
    return app.openapi_schema


def json_body_model(dependant: Dependant) -> type[BaseModel] | None:
    """The model a route's JsonBody dependency parses, if it has one."""
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, JsonBody):
            model: type[BaseModel] = dependency.call.model
            return model
        found = json_body_model(dependency)
        if found is not None:
            return found
    return None


def _operations(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path in document.get("paths", {}).values():
        yield from path.values()


def _schemas(document: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    return schemas


def _declare_json_bodies(document: dict[str, Any], routes: list[RouteContext]) -> None:
    """The JsonBody models as request bodies, and ErrorResponse (which error_responses refers to)."""
    bodies = [(route, model) for route in routes if (model := json_body_model(route.dependant)) is not None]
    models = list(dict.fromkeys(model for _, model in bodies))
    refs, definitions = models_json_schema(
        [(model, "validation") for model in models] + [(ErrorResponse, "serialization")],
        ref_template=REF_PREFIX + "{model}",
    )
    schemas = _schemas(document)
    for name, schema in definitions.get("$defs", {}).items():
        if name in schemas and schemas[name] != schema:
            raise RuntimeError(f"two different OpenAPI schemas are named {name}")
        schemas[name] = schema
    for route, model in bodies:
        required = any(field.is_required() for field in model.model_fields.values())
        for method in route.methods or ():
            operation = document["paths"][route.path_format][method.lower()]
            operation["requestBody"] = {
                "required": required,
                "content": {"application/json": {"schema": refs[(model, "validation")]}},
            }


def _drop_validation_errors(document: dict[str, Any]) -> None:
    for operation in _operations(document):
        operation.get("responses", {}).pop("422", None)
    schemas = _schemas(document)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def _without_null(schema: dict[str, Any]) -> None:
    """`anyOf: [X, null]` becomes X: a query string or a form field can leave a value out, not send null."""
    variants = schema.get("anyOf", [])
    others = [variant for variant in variants if variant != {"type": "null"}]
    if len(variants) == 2 and len(others) == 1:
        del schema["anyOf"]
        schema.update(others[0])


def _plain_query_parameters(document: dict[str, Any]) -> None:
    for operation in _operations(document):
        for parameter in operation.get("parameters", []):
            _without_null(parameter.get("schema", {}))


def _name_upload_bodies(document: dict[str, Any]) -> None:
    """FastAPI names a multipart body `Body_<operationId>`: name it `<OperationId>Request` (OpenAI's
    `CreateFileRequest`), and mark its file parts `format: binary`, as client generators expect."""
    schemas = _schemas(document)
    renamed: dict[str, str] = {}
    for name in [name for name in schemas if name.startswith("Body_")]:
        new_name = "".join(word.capitalize() for word in name.removeprefix("Body_").split("_")) + "Request"
        schema = schemas.pop(name)
        schema["title"] = new_name
        for field in schema.get("properties", {}).values():
            _without_null(field)
            if field.get("contentMediaType") == "application/octet-stream":
                field["format"] = "binary"
        schemas[new_name] = schema
        renamed[REF_PREFIX + name] = REF_PREFIX + new_name
    for operation in _operations(document):
        for content in operation.get("requestBody", {}).get("content", {}).values():
            ref = content.get("schema", {}).get("$ref")
            if ref in renamed:
                content["schema"]["$ref"] = renamed[ref]


def _declare_bearer_auth(document: dict[str, Any]) -> None:
    document["components"]["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: `Authorization: Bearer sk-...`.",
        }
    }
    document["security"] = [{SECURITY_SCHEME: []}]


def _declare_request_id(document: dict[str, Any]) -> None:
    document["components"]["headers"] = {
        "x-request-id": {"description": "This request's id (the SDK's `_request_id`).", "schema": {"type": "string"}}
    }
    for operation in _operations(document):
        for response in operation.get("responses", {}).values():
            response.setdefault("headers", {})["x-request-id"] = {"$ref": "#/components/headers/x-request-id"}

