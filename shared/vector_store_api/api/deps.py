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
    return tenant_for_token(token)


def services(request: Request) -> Any:
    return request.app.state.services()


def json_body(model: type[M]) -> Callable[..., Any]:
    """A dependency parsing the body as `model`: malformed JSON and bad fields are 400s; empty means {}."""

    async def parse(request: Request) -> M:
        raw = await request.body()
        if not raw.strip():
            raw = b"{}"
        try:
            return model.model_validate_json(raw)
        except ValidationError as error:
            raise from_validation_error(error) from None
        except ValueError:
            raise InvalidRequest(INVALID_JSON_MESSAGE, code="invalid_json") from None

    return parse
