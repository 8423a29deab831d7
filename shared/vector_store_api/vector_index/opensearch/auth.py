"""Authentication for the OpenSearch client: none, HTTP basic, or AWS SigV4.

SigV4 signs every request with the credentials of the default AWS credential chain (on Lambda: the
function's role, refreshed by botocore before expiry; the signer takes frozen credentials per
request so key and token always belong together). The service is `es` for Amazon OpenSearch
Service domains and `aoss` for OpenSearch Serverless; the signer always sends
`x-amz-content-sha256`, which Serverless requires. The region comes from OPENSEARCH_REGION, else
the AWS SDK's own configuration (AWS_REGION on Lambda).

SigV4 needs the urllib3 connection class: opensearch-py calls a callable `http_auth` with the final
(compressed) body, so the signature covers exactly the bytes that are sent.
"""

from __future__ import annotations

from typing import Any


class OpenSearchAuthError(RuntimeError):
    pass


class SigV4Signer:
    """opensearch-py calls it with (method, url, final body) and adds the headers it returns.

    Unlike opensearch-py's own Urllib3AWSV4SignerAuth (which adds `X-Amz-Content-SHA256` after
    signing, i.e. unsigned), the payload hash header is set before signing, so it is among the
    SignedHeaders, on every request, bodyless ones included (OpenSearch Serverless requires it)."""

    def __init__(self, credentials: Any, region: str, service: str):
        self.credentials = credentials
        self.region = region
        self.service = service

    def __call__(self, method: str, url: str, body: Any) -> dict[str, str]:
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


def sigv4_auth(service: str, region: str | None = None, session: Any = None) -> Any:
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


def client_auth_kwargs(
    settings: Any, url_username: str | None = None, url_password: str | None = None
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
