"""The opensearch-py client: URL, TLS, connection pool, authentication (none, HTTP basic, AWS SigV4),
and the errors the OpenSearch backend raises or inspects.

SigV4 signs every request with the credentials of the default AWS credential chain (on Lambda: the
function's role, refreshed by botocore before expiry; the signer takes frozen credentials per
request so key and token always belong together). The service is `es` for Amazon OpenSearch
Service domains and `aoss` for OpenSearch Serverless; the signer always sends
`x-amz-content-sha256`, which Serverless requires. The region comes from OPENSEARCH_REGION, else
the AWS SDK's own configuration (AWS_REGION on Lambda).

SigV4 needs the urllib3 connection class: opensearch-py calls a callable `http_auth` with the final
(compressed) body, so the signature covers exactly the bytes that are sent.

opensearch-py, boto3 and botocore are imported inside the functions: this package is only loaded
when OPENSEARCH_URL is set, and even then not before a client is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar
from urllib.parse import unquote, urlsplit

from ...resilience import CircuitBreaker

if TYPE_CHECKING:
    from ...settings import Settings

T = TypeVar("T")


class OpenSearchIndexError(RuntimeError):
    pass


class OpenSearchAuthError(RuntimeError):
    pass


# Threads that may use the client at once besides the ingest workers: the server's request threads
# (anyio's default limit, which serves sync routes) and the search service's text-query threads.
REQUEST_THREADS = 40 + 4


def default_pool_size(ingest_workers: int) -> int:
    return REQUEST_THREADS + ingest_workers


def guarded_transport(breaker: CircuitBreaker) -> Any:
    """opensearch-py's Transport with every request behind `breaker`: while the cluster cannot be
    reached, requests fail at once with DependencyDown instead of each retrying its own timeouts."""
    from opensearchpy import ConnectionError, ConnectionTimeout, Transport

    def is_outage(error: BaseException) -> bool:
        return isinstance(error, (ConnectionError, ConnectionTimeout))

    class GuardedTransport(Transport):
        def perform_request(self, *args: Any, **kwargs: Any) -> Any:
            with breaker.guard(is_outage):
                return super().perform_request(*args, **kwargs)

    return GuardedTransport


def build_client(settings: Settings, breaker: CircuitBreaker | None = None) -> Any:
    """An `opensearchpy.OpenSearch` client for settings.opensearch_url and its auth mode."""
    from opensearchpy import OpenSearch, Urllib3HttpConnection

    url = settings.opensearch_url
    if not url:
        raise OpenSearchIndexError("OPENSEARCH_URL is not set")
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OpenSearchIndexError(f"OPENSEARCH_URL must be an http(s) URL, got {url!r}")
    use_ssl = parts.scheme == "https"
    # An explicit port: opensearch-py would otherwise default a port-less http URL to 9200.
    host: dict[str, Any] = {"host": parts.hostname, "port": parts.port or (443 if use_ssl else 80)}
    if parts.path and parts.path != "/":
        host["url_prefix"] = parts.path.rstrip("/")
    kwargs: dict[str, Any] = {
        "hosts": [host],
        "use_ssl": use_ssl,
        "verify_certs": settings.opensearch_verify_certs,
        "http_compress": settings.opensearch_http_compress,
        "timeout": 30,
        "max_retries": 3,
        "retry_on_timeout": True,
        "retry_on_status": (429, 502, 503, 504),
        "connection_class": Urllib3HttpConnection,
        "transport_class": guarded_transport(breaker or CircuitBreaker("OpenSearch")),
        # One pooled connection per thread that may talk to the node at once (urllib3 keeps 1 by
        # default and discards the rest after use: a new TCP connection per request under load).
        "pool_maxsize": settings.opensearch_pool_size or default_pool_size(settings.ingest_workers),
    }
    if settings.opensearch_ca_certs:
        kwargs["ca_certs"] = str(settings.opensearch_ca_certs)
    if use_ssl and not settings.opensearch_verify_certs:
        kwargs["ssl_show_warn"] = False
    kwargs.update(
        client_auth_kwargs(
            settings,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password is not None else None,
        )
    )
    return OpenSearch(**kwargs)


def client_auth_kwargs(
    settings: Settings, url_username: str | None = None, url_password: str | None = None
) -> dict[str, Any]:
    """Keyword arguments for `opensearchpy.OpenSearch` implementing `settings.opensearch_auth`."""
    mode = settings.opensearch_auth
    if mode == "none":
        return {}
    if mode == "basic":
        username = settings.opensearch_username or url_username
        password = (
            settings.opensearch_password.get_secret_value()
            if settings.opensearch_password is not None
            else url_password
        )
        if not username or password is None:
            raise OpenSearchAuthError("OPENSEARCH_AUTH=basic needs OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD")
        return {"http_auth": (username, password)}
    if mode == "sigv4":
        from opensearchpy import Urllib3HttpConnection

        return {
            "http_auth": sigv4_auth(settings.opensearch_aws_service, settings.opensearch_region),
            "connection_class": Urllib3HttpConnection,
        }
    raise OpenSearchAuthError(f"unknown OPENSEARCH_AUTH {mode!r}")


class SigV4Signer:
    """opensearch-py calls it with (method, url, final body) and adds the headers it returns.

    Unlike opensearch-py's own Urllib3AWSV4SignerAuth (which adds `X-Amz-Content-SHA256` after
    signing, i.e. unsigned), the payload hash header is set before signing, so it is among the
    SignedHeaders, on every request, bodyless ones included (OpenSearch Serverless requires it)."""

    def __init__(self, credentials: Any, region: str, service: str) -> None:
        self.credentials = credentials
        self.region = region
        self.service = service

    def __call__(self, method: str, url: str, body: str | bytes | None) -> dict[str, str]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        if isinstance(body, str):
            body = body.encode("utf-8")
        # Frozen: key, secret and token read at once, never straddling a refresh.
        signer = SigV4Auth(self.credentials.get_frozen_credentials(), self.service, self.region)
        request = AWSRequest(method=method.upper(), url=url, data=body or b"")
        request.headers["X-Amz-Content-SHA256"] = signer.payload(request)
        signer.add_auth(request)
        return dict(request.headers.items())


def sigv4_auth(service: str, region: str | None = None, session: Any = None) -> SigV4Signer:
    """A request signer for opensearch-py using the AWS default credential chain."""
    import boto3

    session = session or boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise OpenSearchAuthError("OPENSEARCH_AUTH=sigv4 but no AWS credentials were found")
    region = region or session.region_name
    if not region:
        raise OpenSearchAuthError("OPENSEARCH_AUTH=sigv4 needs OPENSEARCH_REGION (or AWS_REGION)")
    return SigV4Signer(credentials, region, service)


def opensearch_exceptions() -> Any:
    """opensearchpy.exceptions, imported when first needed."""
    from opensearchpy import exceptions

    return exceptions


def unless_index_missing(request: Callable[[], T], missing: T) -> T:
    """The request's answer, or `missing` when its index does not exist (yet)."""
    try:
        return request()
    except opensearch_exceptions().NotFoundError as e:
        if is_index_missing(e):
            return missing
        raise


def is_index_missing(error: Exception) -> bool:
    return getattr(error, "error", None) == "index_not_found_exception" or "index_not_found_exception" in str(error)


def is_index_missing_item(result: dict[str, Any]) -> bool:
    """A bulk item that failed because its index does not exist."""
    error = result.get("error")
    return isinstance(error, dict) and error.get("type") == "index_not_found_exception"
