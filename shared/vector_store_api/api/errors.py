"""Every error leaves as OpenAI's `{"error": {message, type, param, code}}` with OpenAI's status codes."""

from __future__ import annotations

import logging
import re
from typing import Any, Iterable, Mapping, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import APIError, DependencyDown, InvalidRequest, NotFound, ServiceUnavailable

log = logging.getLogger(__name__)

INVALID_JSON_MESSAGE = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
    "library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
)
# pydantic's JSON parser stops at this depth; a body nested deeper is valid JSON we refuse to read.
MAX_JSON_DEPTH = 200
TOO_DEEP_MESSAGE = f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep; nest it less."
SERVER_ERROR_MESSAGE = "The server had an error while processing your request. Sorry about that!"

_REQUEST_PARTS = {"body", "query", "path", "form", "header"}
_FILTER_TAGS = {"comparison", "compound"}
_CHUNKING_TAGS = {"auto", "static"}
# A multipart field in bracket notation, e.g. `expires_after[seconds]` (not a pydantic union tag).
_FORM_FIELD = re.compile(r"^[A-Za-z_]\w*(\[[A-Za-z_]\w*\])+$")


# A union's members appear in an error's location by type name: `filters.value.str`.
_UNION_FIELDS = {"value", "query"}
_SCALAR_TAGS = {"str", "bool", "int", "float"}


def _param(loc: Iterable[Any], in_request_part: bool) -> str | None:
    """A dotted parameter path, without the request part FastAPI puts first (`body`, `query`, ...) and
    the union tags and validator names pydantic adds."""
    parts: list[str] = []
    previous: Any = None
    for position, part in enumerate(loc):
        if in_request_part and position == 0 and part in _REQUEST_PARTS:
            previous = part
            continue
        if previous in _REQUEST_PARTS and isinstance(part, str) and _FORM_FIELD.match(part):
            part = part.replace("][", ".").replace("[", ".").rstrip("]")  # expires_after[seconds]
        skip = (
            part in _FILTER_TAGS
            or (previous == "chunking_strategy" and part in _CHUNKING_TAGS)
            or (previous in _UNION_FIELDS and part in _SCALAR_TAGS)
            or "[" in str(part)
            or str(part).startswith("constrained-")  # a union member's tag, e.g. a length-bounded str
        )
        previous = part
        if skip:
            continue
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or None


class RaisedInBody(StarletteHTTPException):
    """Carries an APIError out of code that runs while FastAPI reads the request body (a wrapped
    `receive`): FastAPI turns any exception but an HTTPException raised there into a generic 400."""

    def __init__(self, error: APIError) -> None:
        super().__init__(error.status_code, error.message)
        self.error = error


def _most_telling(errors: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The error to report. A value that fails every member of a union gets one error per member; the
    one that is not a plain type mismatch (`too_long`, ...) says what is really wrong."""
    for error in errors:
        if not str(error.get("type", "")).endswith("_type"):
            return error
    return errors[0]


def validation_error(errors: Sequence[Mapping[str, Any]], in_request_part: bool = True) -> InvalidRequest:
    """Turn pydantic/FastAPI errors into one OpenAI-style 400, naming the first offending parameter."""
    first = _most_telling(errors)
    kind = first.get("type", "")
    loc = first.get("loc", ())
    param = _param(loc, in_request_part)
    if kind == "json_invalid":
        if "recursion limit exceeded" in first.get("msg", ""):
            return InvalidRequest(TOO_DEEP_MESSAGE, code="json_too_deep")
        return InvalidRequest(INVALID_JSON_MESSAGE, code="invalid_json")
    if kind == "extra_forbidden":
        return InvalidRequest(f"Unrecognized request argument supplied: {param}", param=param, code="unknown_parameter")
    if kind == "missing":
        return InvalidRequest(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")
    message = first.get("msg", "invalid value")
    message = message.removeprefix("Value error, ")
    if kind in ("model_type", "dict_type") and param is None:
        return InvalidRequest("The request body must be a JSON object.", code="invalid_type")
    return InvalidRequest(f"Invalid '{param}': {message}.", param=param, code="invalid_value")


def from_validation_error(error: ValidationError) -> InvalidRequest:
    return validation_error(error.errors(include_url=False), in_request_part=False)


def error_response(error: APIError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status_code, headers=getattr(error, "headers", None) or None)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_: Request, error: APIError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(DependencyDown)
    async def _dependency_down(_: Request, error: DependencyDown) -> JSONResponse:
        return error_response(
            ServiceUnavailable(
                f"The service is temporarily unavailable ({error}). "
                "Please retry your request shortly.",
                error.retry_after_seconds,
            )
        )

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(list(error.errors())))

    @app.exception_handler(ValidationError)
    async def _model_validation(_: Request, error: ValidationError) -> JSONResponse:
        return error_response(from_validation_error(error))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if isinstance(error, RaisedInBody):
            return error_response(error.error)
        if error.status_code == 404:
            api_error: APIError = NotFound(f"Invalid URL ({request.method} {request.url.path})")
        elif error.status_code == 405:
            api_error = InvalidRequest(f"Invalid method for URL ({request.method} {request.url.path})")
            api_error.status_code = 405
        else:
            api_error = APIError(str(error.detail))
            api_error.status_code = error.status_code
        return error_response(api_error)
