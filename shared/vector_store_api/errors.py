"""Domain errors. Each maps to one OpenAI-style error body and HTTP status (see api/errors.py)."""

from __future__ import annotations


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

    def body(self) -> dict[str, dict[str, str | None]]:
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


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

    code = "server_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnsupportedFile(IngestError):
    code = "unsupported_file"


class InvalidFile(IngestError):
    code = "invalid_file"
