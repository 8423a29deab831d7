"""Domain errors. Each maps to one OpenAI-style error body and HTTP status (see api/errors.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models.common import Error, ErrorResponse

if TYPE_CHECKING:
    from .models.vector_stores import LastErrorCode


class APIError(Exception):
    status_code = 400
    error_type = "invalid_request_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The response body: OpenAI's ErrorResponse (models/common.py, also the OpenAPI schema's)."""
        error = Error(message=self.message, type=self.error_type, param=self.param, code=self.code)
        return ErrorResponse(error=error).model_dump()


class InvalidRequest(APIError):
    status_code = 400


class AuthenticationFailed(APIError):
    status_code = 401


class PermissionDenied(APIError):
    status_code = 403


class NotFound(APIError):
    status_code = 404


class Conflict(APIError):
    status_code = 409


class RateLimited(APIError):
    status_code = 429
    error_type = "requests"


class InsufficientQuota(APIError):
    """OpenAI's 429 `insufficient_quota`; `x-should-retry: false` stops the SDK retrying what cannot succeed."""

    status_code = 429
    error_type = "insufficient_quota"

    def __init__(self, message: str, *, param: str | None = None):
        super().__init__(message, param=param, code="insufficient_quota", headers={"x-should-retry": "false"})


class ServerError(APIError):
    status_code = 500
    error_type = "server_error"


SHOWN_VALUE_CHARS = 64


def shown(value: str) -> str:
    """A client's value as an error message quotes it: a 10 kB id is not echoed back whole."""
    return value if len(value) <= SHOWN_VALUE_CHARS else value[:SHOWN_VALUE_CHARS] + "..."


class ServiceUnavailable(APIError):
    """503 while a dependency is down; `Retry-After` says when to try again (the SDK honours it)."""

    status_code = 503
    error_type = "server_error"

    def __init__(self, message: str, retry_after_seconds: float):
        super().__init__(
            message, code="service_unavailable", headers={"retry-after": str(max(1, round(retry_after_seconds)))}
        )


class RequestTimedOut(APIError):
    """504: the request ran past its time budget (REQUEST_TIMEOUT_SECONDS) and its work was stopped."""

    status_code = 504
    error_type = "server_error"


class BadGateway(APIError):
    """502: the upstream model endpoint failed (its 5xx, or its refusal of our credentials)."""

    status_code = 502
    error_type = "server_error"


class GatewayTimeout(APIError):
    """504: the upstream model endpoint did not answer in time."""

    status_code = 504
    error_type = "server_error"


def request_timed_out(seconds: float) -> RequestTimedOut:
    return RequestTimedOut(
        f"The request took longer than {seconds:g} s (the server's REQUEST_TIMEOUT_SECONDS) and was stopped."
        " Retry it, or ask for less (fewer queries, a smaller file).",
        code="timeout",
    )


def shutting_down(retry_after_seconds: float = 1.0) -> ServiceUnavailable:
    return ServiceUnavailable("The server is shutting down. Please retry your request shortly.", retry_after_seconds)


class ModelBackendUnavailable(APIError):
    """503 for a server with no chat completions endpoint configured: retrying cannot help."""

    status_code = 503
    error_type = "server_error"

    def __init__(self, message: str):
        super().__init__(message, code="model_backend_unavailable", headers={"x-should-retry": "false"})


class DependencyDown(Exception):
    """A dependency (`database`, `opensearch`, `embeddings`) cannot be reached. Adapters raise it; the
    API answers 503 (ServiceUnavailable), the ingest worker retries the job later."""

    def __init__(self, dependency: str, retry_after_seconds: float, reason: str = "cannot be reached"):
        super().__init__(f"{dependency} {reason}")
        self.dependency = dependency
        self.retry_after_seconds = retry_after_seconds
        self.reason = reason


def not_found(kind: str, object_id: str, param: str | None = None) -> NotFound:
    """OpenAI's message style: "No vector store found with id 'vs_x'."."""
    return NotFound(f"No {kind} found with id '{shown(object_id)}'.", param=param)


def invalid_id(param: str, value: str, prefix: str) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid '{param}': '{shown(value)}'. Expected an ID that begins with '{prefix}'.",
        param=param,
        code="invalid_value",
    )


class IngestError(Exception):
    """A file cannot be ingested; `code` is one of OpenAI's last_error codes."""

    code: LastErrorCode = "server_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnsupportedFile(IngestError):
    code = "unsupported_file"


class InvalidFile(IngestError):
    code = "invalid_file"


def file_too_large(max_bytes: int, size: int | None = None) -> InvalidRequest:
    """OpenAI's 400 for an upload over the per-file limit ("File is too large."), naming the limit."""
    limit = f"{max_bytes / (1 << 20):g} MB ({max_bytes} bytes)" if max_bytes >= 1 << 20 else f"{max_bytes} bytes"
    found = f" This file has {size} bytes." if size is not None else ""
    return InvalidRequest(f"File is too large. The maximum file size is {limit}.{found}", param="file")
