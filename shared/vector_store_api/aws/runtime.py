"""The Lambda runtime: services built lazily, once per container, and the HTTP handler wrapper.

Clients and pools are created on first use (outside any single invocation) and reused by every
invocation the container serves.
"""

from __future__ import annotations

import functools
import gc
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:  # settings, secrets and the container (database, backends, numpy...) load on the first invocation
    from fastapi import APIRouter

    from ..container import Services
    from ..settings import Settings

logger = Logger()
metrics = Metrics()

_services: Services | None = None
_lock = threading.Lock()

# A Lambda handler: (the event, a JSON object; the LambdaContext) -> the response.
Handler = Callable[[dict[str, Any], Any], Any]


def traced(handler: Handler) -> Handler:
    """X-Ray tracing through Powertools' Tracer when TRACING is on. The Tracer (and with it the
    X-Ray SDK, ~200 ms of imports) is created on the first invocation, and only then."""
    chosen: list[Handler] = []

    @functools.wraps(handler)
    def run(event: dict[str, Any], context: Any) -> Any:
        if not chosen:
            from ..settings import get_settings

            target = handler
            if get_settings().tracing:
                from aws_lambda_powertools import Tracer

                target = Tracer().capture_lambda_handler(handler, capture_response=False)
            chosen.append(target)
        return chosen[0](event, context)

    return run


def resolve_secrets(settings: Settings) -> Settings:
    """Settings with the secrets (database URL, OpenAI key, OpenSearch password, bootstrap admin key,
    chat completions key)
    fetched from Secrets Manager / SSM."""
    from pydantic import SecretStr

    from . import secrets

    fetched = {
        "database_url": secrets.database_url(settings),
        "openai_api_key": secrets.openai_api_key(settings),
        "opensearch_password": secrets.opensearch_password(settings),
        "admin_api_key": secrets.admin_api_key(settings),
        "chat_completions_api_key": secrets.chat_completions_api_key(settings),
    }
    return settings.model_copy(update={name: SecretStr(value) for name, value in fetched.items() if value})


def build_lambda_services(settings: Settings) -> Services:
    import boto3

    from ..container import build_services
    from .s3_blobstore import S3BlobStore
    from .sqs_queue import SqsIngestQueue

    if not settings.files_bucket or not settings.ingest_queue_url:
        raise RuntimeError("FILES_BUCKET and INGEST_QUEUE_URL must be set on Lambda")
    if settings.database_url is None:
        raise RuntimeError("set DATABASE_SECRET_ID or DATABASE_URL_PARAMETER")
    sqs = boto3.client("sqs")
    blobs = S3BlobStore(settings.files_bucket, boto3.client("s3"))
    queue_url = settings.ingest_queue_url
    buckets = None  # without RATE_LIMIT_TABLE the buckets live in PostgreSQL (same rules, same exactness)
    if settings.rate_limit_table:
        from ..limits.dynamodb_store import DynamoDbBucketStore

        buckets = DynamoDbBucketStore(settings.rate_limit_table, boto3.client("dynamodb"))
    usage_store = None  # likewise the usage counters
    if settings.usage_table:
        from ..usage.dynamodb_store import DynamoDbUsageStore

        usage_store = DynamoDbUsageStore(settings.usage_table, boto3.client("dynamodb"), settings.usage_retention_days)
    return build_services(
        settings,
        blobs=blobs,
        queue_factory=lambda _pipeline: SqsIngestQueue(queue_url, sqs),
        buckets=buckets,
        usage_store=usage_store,
    )


def services() -> Services:
    global _services
    if _services is None:
        with _lock:
            if _services is None:
                from ..settings import get_settings

                _services = build_lambda_services(resolve_secrets(get_settings()))
    return _services


def reset_services() -> None:
    """Forget the container's services (tests build a fresh set per moto environment)."""
    global _services
    with _lock:
        if _services is not None:
            _services.db.close()
        _services = None


def end_init() -> None:
    """Ends a handler module's init phase, which began with `gc.disable()`: what init made (modules,
    classes, routes, models) lives as long as the container, so instead of being scanned by the
    cycle collector (two full collections while FastAPI builds a handler's routes, ~20 ms of its
    cold start here) it is moved out of the collector's sight, then collection resumes."""
    gc.freeze()
    gc.enable()


def http_handler(routers: Sequence[APIRouter], route_group: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """A Lambda handler serving `routers` behind API Gateway (HTTP API), with logs, metrics and traces."""
    from mangum import Mangum

    from ..app import create_app

    def request_timeout_seconds() -> float:
        from ..settings import get_settings

        return get_settings().request_timeout_seconds

    asgi = Mangum(create_app(routers, services, request_timeout_seconds=request_timeout_seconds), lifespan="off")

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @metrics.log_metrics
    @traced
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            response = asgi(event, context)
        finally:
            if _services is not None:
                _services.usage.flush()  # after the response is made; a failed write is only logged
        metrics.add_dimension(name="route_group", value=route_group)
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1000)
        if response.get("statusCode", 200) >= 500:
            metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
        return response

    return handler
