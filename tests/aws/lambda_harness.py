"""Invoke the Lambda handlers in-process the way `sam local invoke -e events/<x>.json` does.

Events are always built from the files in events/ (ids, bodies and tokens substituted), so the
samples cannot drift from what the handlers accept.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib.util
import json
import os
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

# Powertools reads these when the handlers' Logger/Metrics/Tracer are created, at import.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "vector-store-api")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "VectorStoreApi")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"
FUNCTIONS = REPO / "functions"
REGION = "us-east-1"
ACCOUNT = "123456789012"

MAX_RECEIVE_COUNT = 3
BUCKET = "vector-store-api-files-123456789012"
SECRET_ID = "vector-store-api/database"
TABLE = "vector-store-api-idempotency"
RATE_LIMIT_TABLE = "vector-store-api-rate-limits"
USAGE_TABLE = "vector-store-api-usage"

TEMPLATES = {
    "files": "files.json",
    "vector_stores": "vector_stores.json",
    "vector_store_files": "vector_store_files.json",
    "search": "search.json",
    "organization": "organization.json",
    "responses": "responses.json",
}

HTTP_FUNCTIONS = ("files", "vector_stores", "vector_store_files", "search", "organization", "responses")
ALL_FUNCTIONS = (*HTTP_FUNCTIONS, "ingest_worker", "ingest_dlq", "maintenance")

_modules: dict[str, ModuleType] = {}


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def message_body(template: str) -> dict:
    """The body of the first record of events/<template> (an SQS sample), parsed."""
    return json.loads(load_event(template)["Records"][0]["body"])


def load_function(name: str) -> ModuleType:
    """functions/<name>/app.py, imported under a unique module name (as each Lambda has its own)."""
    if name not in _modules:
        spec = importlib.util.spec_from_file_location(f"lambda_fn_{name}", FUNCTIONS / name / "app.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[name] = module
    return _modules[name]


class LambdaContext:
    """The attributes of the Python runtime's context object that Powertools and Mangum read."""

    def __init__(self, function: str, timeout_s: float = 30.0, memory_mb: int = 1024):
        self.function_name = f"vector-store-api-{function}"
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"2026/11/21/[$LATEST]{uuid.uuid4().hex}"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def invoke(function: str, event: dict, *, timeout_s: float = 30.0) -> Any:
    return load_function(function).handler(event, LambdaContext(function, timeout_s))


def reset_lambda_state(monkeypatch=None) -> None:
    """What a fresh container starts with: no settings, services, cached secrets or idempotency layer."""
    from aws_lambda_powertools.utilities import parameters

    from vector_store_api.aws import runtime, worker
    from vector_store_api.settings import get_settings

    get_settings.cache_clear()
    runtime.reset_services()
    parameters.clear_caches()
    if monkeypatch is not None:
        monkeypatch.setattr(worker, "_idempotent_bulk", None)
    else:
        worker._idempotent_bulk = None


# --------------------------------------------------------------------------- HTTP API (payload 2.0)
class HttpResponse:
    def __init__(self, raw: dict):
        self.raw = raw
        self.status = raw["statusCode"]
        self.headers = raw.get("headers") or {}

    @property
    def content(self) -> bytes:
        body = self.raw.get("body", "")
        return base64.b64decode(body) if self.raw.get("isBase64Encoded") else body.encode()

    def json(self) -> Any:
        return json.loads(self.content)

    def __repr__(self) -> str:
        return f"<HttpResponse {self.status} {self.raw.get('body', '')[:300]!r}>"


def http_event(
    template: str,
    method: str,
    route: str,
    *,
    token: str | None,
    body: Any = None,
    query: str = "",
    content_type: str | None = "application/json",
    is_base64: bool = False,
    **path_params: str,
) -> dict:
    """An API Gateway HTTP API event from events/<template>, for `route` with its path parameters.

    `route` is the route key's path, e.g. "/v1/vector_stores/{vector_store_id}/files".
    `body`: a dict/list (sent as JSON), str, or bytes (base64-encoded, as API Gateway does for binary).
    """
    event = copy.deepcopy(load_event(template))
    path = route.format(**path_params)
    route_key = f"{method} {route}"
    event["routeKey"] = route_key
    event["rawPath"] = path
    event["rawQueryString"] = query
    context = event["requestContext"]
    context["routeKey"] = route_key
    context["http"]["method"] = method
    context["http"]["path"] = path
    context["requestId"] = base64.b64encode(uuid.uuid4().bytes[:11]).decode()
    context["timeEpoch"] = int(time.time() * 1000)
    if path_params:
        event["pathParameters"] = dict(path_params)
    else:
        event.pop("pathParameters", None)

    headers = event["headers"]
    if token is None:
        headers.pop("authorization", None)
    else:
        headers["authorization"] = f"Bearer {token}"
    if body is None:
        event.pop("body", None)
        headers.pop("content-type", None)
        headers.pop("content-length", None)
        event["isBase64Encoded"] = False
        return event
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, bytes):
        raw, body, is_base64 = body, base64.b64encode(body).decode(), True
    else:
        raw = base64.b64decode(body) if is_base64 else body.encode()
    event["body"] = body
    event["isBase64Encoded"] = is_base64
    headers["content-length"] = str(len(raw))
    if content_type is not None:
        headers["content-type"] = content_type
    return event


def call(function: str, event: dict) -> HttpResponse:
    return HttpResponse(invoke(function, event))


def multipart(fields: dict[str, str], filename: str, data: bytes, boundary: str | None = None) -> tuple[bytes, str]:
    """A multipart/form-data body as httpx (the OpenAI SDK's transport) encodes it."""
    boundary = boundary or uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: text/plain\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


# --------------------------------------------------------------------------------------- SQS
def sqs_record(
    template: str,
    body: str | dict,
    *,
    message_id: str | None = None,
    receive_count: int | None = None,
    event_source_arn: str | None = None,
    message_attributes: dict | None = None,
    first_received_at: float | None = None,
) -> dict:
    """The first record of events/<template> with a new body (and message id, receive count...),
    first received now unless `first_received_at` (the template's timestamp is years old, which
    would put every retry past the retry window)."""
    record = copy.deepcopy(load_event(template)["Records"][0])
    first = time.time() if first_received_at is None else first_received_at
    record["attributes"]["ApproximateFirstReceiveTimestamp"] = str(int(first * 1000))
    if isinstance(body, dict):
        body = json.dumps(body)
    record["body"] = body
    record["md5OfBody"] = hashlib.md5(body.encode()).hexdigest()
    if message_id is not None:
        record["messageId"] = message_id
    if receive_count is not None:
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    if event_source_arn is not None:
        record["eventSourceARN"] = event_source_arn
    if message_attributes is not None:
        record["messageAttributes"] = message_attributes
    return record


def record_from_message(message: dict, queue_arn: str, template: str = "sqs_ingest.json") -> dict:
    """What the Lambda event source mapping delivers for a message from ReceiveMessage(AttributeNames=All)."""
    record = copy.deepcopy(load_event(template)["Records"][0])
    record.update(
        messageId=message["MessageId"],
        receiptHandle=message["ReceiptHandle"],
        body=message["Body"],
        md5OfBody=message["MD5OfBody"],
        eventSourceARN=queue_arn,
        attributes={k: v for k, v in message["Attributes"].items()},
        messageAttributes={
            name: {
                "stringValue": value.get("StringValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
    )
    return record


def sqs_event(*records: dict) -> dict:
    return {"Records": list(records)}


def ingest_body(tenant_id: str, vector_store_id: str, file_id: str) -> dict:
    """The template's ingest_file body with real ids."""
    body = message_body("sqs_ingest.json")
    body.update(tenant_id=tenant_id, vector_store_id=vector_store_id, file_id=file_id)
    return body
