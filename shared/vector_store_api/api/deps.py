"""Request-scoped dependencies: the tenant, the services, and JSON bodies validated the OpenAI way.

Routes take them through the typed aliases at the end (`svc: ServicesDep`, `tenant: TenantDep`, ...).
"""

from typing import TYPE_CHECKING, Annotated, Any, Awaitable, Callable, Final, Generic, TypedDict, TypeVar

from fastapi import Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from ..errors import AuthenticationFailed, InvalidRequest, PermissionDenied, RateLimited, shown
from ..ids import FILE_BATCH_PREFIX, FILE_PREFIX, VECTOR_STORE_PREFIX
from ..models.common import Order, PageRequest
from ..services.principal import Principal
from .errors import INVALID_JSON_MESSAGE, from_validation_error

if TYPE_CHECKING:
    from ..container import Services
    from ..limits.rate_limiter import Decision
else:
    # Only for the type checker: routes must stay cheap to import (a Lambda handler's cold start).
    Services = Any

M = TypeVar("M", bound=BaseModel)

MISSING_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)
# request.state keys read by the app's middleware (rate-limit headers, usage counters)
PRINCIPAL_STATE: Final = "principal"
RATE_LIMIT_STATE: Final = "rate_limit"


class RequestState(TypedDict, total=False):
    """`request.state` as the app's middleware reads it: the ASGI scope's "state" dict."""

    principal: Principal
    rate_limit: "Decision"


# Dependencies that neither block nor do I/O are `async def`: FastAPI runs plain `def` ones in its
# thread pool, a thread hop per dependency per request.
async def services(request: Request) -> Services:
    make_services: Callable[[], Services] = request.app.state.services  # set by create_app
    return make_services()


# --------------------------------------------------------------------------------- path ids
def _id_with_prefix(prefix: str) -> Any:
    """A path id, documented with its kind's prefix; not checked here: the service answers another
    with OpenAI's 400 (`check_id`)."""
    return Path(json_schema_extra={"pattern": f"^{prefix}"})


FileIdPath = Annotated[str, _id_with_prefix(FILE_PREFIX)]
VectorStoreIdPath = Annotated[str, _id_with_prefix(VECTOR_STORE_PREFIX)]
BatchIdPath = Annotated[str, _id_with_prefix(FILE_BATCH_PREFIX)]


# ------------------------------------------------------------------------------ who is calling
async def principal(request: Request, svc: Services = Depends(services)) -> Principal:
    """The caller's key: 401 when missing, unknown, revoked or expired. A cached key costs no thread
    hop; a lookup runs in the thread pool."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationFailed(MISSING_KEY_MESSAGE)
    _reject_nul(request)
    caller = svc.auth.authenticate_cached(token)
    if caller is None:
        caller = await run_in_threadpool(svc.auth.authenticate, token)
    setattr(request.state, PRINCIPAL_STATE, caller)
    return caller


def _reject_nul(request: Request) -> None:
    """A NUL in an id or query value is a 400 here, not a 500 from PostgreSQL (text cannot hold NUL)."""
    params = [*request.path_params.items(), *request.query_params.multi_items()]
    for name, value in params:
        if "\x00" in value or "\x00" in name:
            name = name.replace("\x00", "")
            raise InvalidRequest(
                f"Invalid '{name}': strings must not contain NUL (\\u0000) characters.", param=name, code="invalid_value"
            )


def _insufficient(message: str, param: str | None = None) -> PermissionDenied:
    return PermissionDenied(message, param=param, code="insufficient_permissions")


def _project_key_with(role: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting project keys of at least `role`, within their vector store scope (403)."""

    async def check(request: Request, caller: Principal = Depends(principal)) -> Principal:
        if caller.is_org_admin:
            raise _insufficient("Admin API keys can only be used with /v1/organization endpoints; use a project API key.")
        if not caller.has_role(role):
            raise _insufficient(f"This API key has the '{caller.role}' role; this operation needs '{role}'.")
        store_id = request.path_params.get("vector_store_id")
        if store_id is not None and not caller.may_use_store(store_id):
            raise _insufficient(f"This API key is not allowed to use vector store {shown(store_id)}.", "vector_store_id")
        return caller

    return check


reader = _project_key_with("read")
writer = _project_key_with("write")


async def unscoped_writer(caller: Principal = Depends(writer)) -> Principal:
    """Creating a vector store: a key limited to some stores could not use the new one."""
    if caller.vector_store_ids is not None:
        raise _insufficient("An API key scoped to vector stores cannot create vector stores.")
    return caller


async def current_tenant(caller: Principal = Depends(reader)) -> str:
    return caller.project_id  # type: ignore[return-value]  # project keys always have one


async def admin(caller: Principal = Depends(principal)) -> Principal:
    """Organization endpoints: organization admin keys, or project keys with the admin role (which
    the service then limits to their own project)."""
    if caller.keys_enabled and not caller.has_role("admin"):
        raise _insufficient(f"This API key has the '{caller.role}' role; this operation needs 'admin'.")
    return caller


# ------------------------------------------------------------------------------------ rate limits
def _per(window_seconds: float) -> str:
    return "min" if window_seconds == 60 else f"{window_seconds:g}s"


def _retry_in(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.3g}s"


async def rate_limit(request: Request, caller: Principal = Depends(principal), svc: Services = Depends(services)) -> None:
    """Requests per minute per key; runs right after authentication, before any other check."""
    limit, window = caller.requests_per_minute, svc.settings.rate_limit_window_seconds
    if limit <= 0:  # unlimited: no bucket to take from
        return
    decision = await run_in_threadpool(svc.limiter.acquire, "req:" + caller.key_id, limit, window)
    setattr(request.state, RATE_LIMIT_STATE, decision)
    if not decision.allowed:
        raise RateLimited(
            f"Rate limit reached for requests on requests per {_per(window)} (RPM): Limit {limit}, "
            f"Used {limit}, Requested 1. Please try again in {_retry_in(decision.retry_after_seconds)}.",
            code="rate_limit_exceeded",
            headers=decision.retry_headers(),
        )


def store_write_limit(vector_store_id: VectorStoreIdPath, caller: Principal = Depends(writer), svc: Services = Depends(services)) -> None:
    """Write operations per minute per vector store (attaching files and creating file batches share it).

    The bucket is scoped by the owning tenant, so nobody can exhaust a store they cannot see."""
    limit, window = caller.store_writes_per_minute, svc.settings.rate_limit_window_seconds
    decision = svc.limiter.acquire(f"store:{caller.project_id}:{vector_store_id}", limit, window)
    if not decision.allowed:
        raise RateLimited(
            f"Rate limit reached for vector store {vector_store_id} on file write operations per {_per(window)} "
            f"(the per-vector-store write limit): Limit {limit}, Used {limit}, Requested 1. "
            f"Please try again in {_retry_in(decision.retry_after_seconds)}.",
            code="rate_limit_exceeded",
            headers=decision.retry_headers(),
        )


# The largest JSON body a route reads (README, "Limits"): 1 MiB holds any request but a file batch,
# whose 2,000 files may each carry 16 attributes of 512 characters.
MAX_JSON_BYTES = 1024 * 1024
MAX_BATCH_JSON_BYTES = 32 * 1024 * 1024


def _too_large(limit: int) -> InvalidRequest:
    return InvalidRequest(
        f"The request body is larger than this endpoint accepts ({limit // 1024 // 1024} MiB).",
        code="request_too_large",
    )


async def _bounded_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed `limit`: from Content-Length, else while it streams."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    parts, size = [], 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise _too_large(limit)
        parts.append(part)
    return b"".join(parts)


class JsonBody(Generic[M]):
    """A dependency parsing the body as `model`: malformed JSON and bad fields are 400s; empty means {}.

    The body is read by hand (bounded while it streams, OpenAI's messages), so FastAPI does not see it;
    api/openapi.py finds these dependencies on each route and declares `model` as its request body."""

    def __init__(self, model: type[M], max_bytes: int = MAX_JSON_BYTES) -> None:
        self.model = model
        self.max_bytes = max_bytes

    async def __call__(self, request: Request) -> M:
        raw = await _bounded_body(request, self.max_bytes)
        if not raw.strip():
            raw = b"{}"
        try:
            body = self.model.model_validate_json(raw)
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


# ------------------------------------------------------------------------------------ list pages
def page_params(default_order: Order) -> Callable[..., Any]:
    """OpenAI's list parameters: `limit` 1-100 (default 20), `order`, `after` and `before` cursors."""

    async def page(
        limit: int = Query(20, ge=1, le=100),
        order: Order = default_order,
        after: str | None = None,
        before: str | None = None,
    ) -> PageRequest:
        return PageRequest(limit, order, after, before)

    return page


# ------------------------------------------------------------------------------ typed aliases
ServicesDep = Annotated[Services, Depends(services)]
TenantDep = Annotated[str, Depends(current_tenant)]  # the caller's project (a project key of any role)
ReaderDep = Annotated[Principal, Depends(reader)]
WriterDep = Annotated[Principal, Depends(writer)]
AdminDep = Annotated[Principal, Depends(admin)]
NewestFirstPage = Annotated[PageRequest, Depends(page_params("desc"))]
OldestFirstPage = Annotated[PageRequest, Depends(page_params("asc"))]
