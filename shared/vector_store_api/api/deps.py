"""Request-scoped dependencies: the tenant, the services, and JSON bodies validated the OpenAI way."""

from __future__ import annotations

import hashlib
from typing import Any, Callable, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from ..errors import AuthenticationFailed, InvalidRequest
from .errors import INVALID_JSON_MESSAGE, from_validation_error

M = TypeVar("M", bound=BaseModel)

MISSING_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)


def tenant_for_token(token: str) -> str:
    """Until API keys exist, each distinct bearer token is its own tenant (stored only as a hash)."""
    return "tenant_" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]


def current_tenant(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationFailed(MISSING_KEY_MESSAGE)
    _reject_nul(request)
    return tenant_for_token(token)


def _reject_nul(request: Request) -> None:
    """A NUL in an id or query value is a 400 here, not a 500 from PostgreSQL (text cannot hold NUL)."""
    params = [*request.path_params.items(), *request.query_params.multi_items()]
    for name, value in params:
        if "\x00" in value or "\x00" in name:
            name = name.replace("\x00", "")
            raise InvalidRequest(
                f"Invalid '{name}': strings must not contain NUL (\\u0000) characters.", param=name, code="invalid_value"
            )


def services(request: Request) -> Any:
    return request.app.state.services()


def json_body(model: type[M]) -> Callable[..., Any]:
    """A dependency parsing the body as `model`: malformed JSON and bad fields are 400s; empty means {}."""

    async def parse(request: Request) -> M:
        raw = await request.body()
        if not raw.strip():
            raw = b"{}"
        try:
            body = model.model_validate_json(raw)
        except ValidationError as error:
            raise from_validation_error(error) from None
        except ValueError:
            raise InvalidRequest(INVALID_JSON_MESSAGE, code="invalid_json") from None
        if b"\\u0000" in raw:  # cheap pre-check; PostgreSQL text and jsonb cannot store NUL
            param = _nul_path(body.model_dump(exclude_unset=True))
            if param is not None:
                raise InvalidRequest(
                    f"Invalid '{param}': strings must not contain NUL (\\u0000) characters.",
                    param=param,
                    code="invalid_value",
                )
        return body

    return parse


def _nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (value or key) containing a NUL character, if any."""
    if isinstance(value, str):
        return (path or None) if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return path or child.replace("\x00", "")
            found = _nul_path(item, child)
            if found is not None:
                return found
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
