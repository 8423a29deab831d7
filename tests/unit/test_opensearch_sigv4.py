"""build_client's auth, checked by a local endpoint that verifies what it receives.

The endpoint recomputes each request's SigV4 signature with botocore from what arrived (method, path,
query, the headers listed in SignedHeaders, the raw (gzip) body, the request's own X-Amz-Date) and
the known test credentials, and answers 403 unless it matches; it also checks that the signed
payload hash is the hash of the body actually received. Paths under /basic check HTTP basic auth.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from vector_store_api.settings import Settings
from vector_store_api.vector_index.opensearch.client import OpenSearchAuthError, build_client

pytest.importorskip("opensearchpy")
pytest.importorskip("botocore")

ACCESS_KEY = "AKIDTESTEXAMPLE0001"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ"
REGION = "us-east-1"
USERNAME, PASSWORD = "admin", "s3cr3t:with-colon"

INFO = {
    "name": "verifier",
    "cluster_name": "verifier",
    "version": {"distribution": "opensearch", "number": "2.19.1"},
    "tagline": "The OpenSearch Project: https://opensearch.org/",
}
EMPTY_SEARCH = {
    "took": 1,
    "timed_out": False,
    "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
    "hits": {"total": {"value": 0, "relation": "eq"}, "max_score": None, "hits": []},
}
AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r" ?SignedHeaders=(?P<signed>[^,]+), ?Signature=(?P<signature>[0-9a-f]{64})$"
)


def verify_sigv4(method: str, path: str, headers, body: bytes, service: str) -> str | None:
    """None if the request is validly signed for `service` with the test credentials, else why not."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    match = AUTH_RE.match(headers.get("Authorization", ""))
    if not match:
        return "no SigV4 Authorization header"
    if match["key"] != ACCESS_KEY:
        return "unknown access key"
    if match["region"] != REGION or match["service"] != service:
        return f"wrong scope {match['region']}/{match['service']}"
    amz_date = headers.get("X-Amz-Date", "")
    if amz_date[:8] != match["date"]:
        return "X-Amz-Date does not match the credential scope"
    signed = match["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "host and x-amz-date must be signed"
    content_sha = headers.get("X-Amz-Content-SHA256")
    if content_sha is not None:
        if "x-amz-content-sha256" not in signed:
            return "x-amz-content-sha256 is sent but not signed"
        if content_sha != hashlib.sha256(body).hexdigest():
            return "x-amz-content-sha256 is not the hash of the body received"
    elif service == "aoss":
        return "OpenSearch Serverless requires x-amz-content-sha256"
    token = headers.get("X-Amz-Security-Token")
    if token is not None and ("x-amz-security-token" not in signed or token != SESSION_TOKEN):
        return "bad or unsigned session token"

    request = AWSRequest(
        method=method,
        url=f"http://{headers['Host']}{path}",
        data=body,
        headers={name: headers[name] for name in signed if headers.get(name) is not None},
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, token), service, REGION)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, match["signature"]):
        return "signature mismatch"
    return None


class Verifier(BaseHTTPRequestHandler):
    server: "VerifyingServer"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/basic"):
            expected = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
            reason = None if self.headers.get("Authorization") == expected else "bad basic auth"
            failure_status = 401
        else:
            reason = verify_sigv4(self.command, self.path, self.headers, body, self.server.service)
            failure_status = 403
        self.server.seen.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
                "reason": reason,
            }
        )
        if reason is not None:
            self._reply(
                failure_status, {"error": {"type": "security_exception", "reason": reason}, "status": failure_status}
            )
        elif "/_search" in self.path:
            self._reply(200, EMPTY_SEARCH)
        else:
            self._reply(200, INFO)

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


class VerifyingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Verifier)
        self.service = "es"
        self.seen: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(scope="module")
def server():
    srv = VerifyingServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path, server):
    """Static credentials from the environment only: no profiles, no instance metadata."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    server.seen.clear()


def sigv4_settings(url: str, service: str = "es", region: str | None = REGION) -> Settings:
    # Compressed bodies: the signature must cover the bytes sent (the harder case).
    return Settings(
        opensearch_url=url,
        opensearch_auth="sigv4",
        opensearch_aws_service=service,
        opensearch_region=region,
        opensearch_http_compress=True,
    )


@pytest.mark.parametrize("service", ["es", "aoss"])
def test_sigv4_signed_requests_are_accepted(server, service):
    server.service = service
    client = build_client(sigv4_settings(server.url, service))

    assert client.info()["version"]["number"] == "2.19.1"
    body = {"size": 3, "query": {"bool": {"filter": [{"term": {"store_id": "vs_1"}}]}}}
    result = client.search(index="chunks-lucene-16", body=body, params={"routing": "vs_1"})
    assert result["hits"]["hits"] == []

    assert [r["reason"] for r in server.seen] == [None, None]
    info, search = server.seen
    assert info["method"] == "GET"
    assert search["method"] == "POST" and search["path"].startswith("/chunks-lucene-16/_search?")
    assert "routing=vs_1" in search["path"]
    # The body is gzip-compressed and the signature covers the compressed bytes.
    assert search["headers"].get("content-encoding") == "gzip"
    assert json.loads(gzip.decompress(search["body"])) == body
    for request in server.seen:
        assert f"/{service}/aws4_request" in request["headers"]["authorization"]
        assert request["headers"]["x-amz-content-sha256"] == hashlib.sha256(request["body"]).hexdigest()


def test_aoss_requests_carry_the_content_hash_even_without_a_body(server):
    server.service = "aoss"
    client = build_client(sigv4_settings(server.url, "aoss"))
    client.info()
    (request,) = server.seen
    assert request["body"] == b""
    assert request["headers"]["x-amz-content-sha256"] == hashlib.sha256(b"").hexdigest()
    assert "x-amz-content-sha256" in request["headers"]["authorization"]


def test_session_token_of_role_credentials_is_sent_and_signed(server, monkeypatch):
    server.service = "es"
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    client = build_client(sigv4_settings(server.url))
    client.search(index="x", body={"query": {"match_all": {}}})
    (request,) = server.seen
    assert request["reason"] is None
    assert request["headers"]["x-amz-security-token"] == SESSION_TOKEN


def test_region_defaults_to_the_aws_sdk_configuration(server, monkeypatch):
    server.service = "es"
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    build_client(sigv4_settings(server.url, region=None)).info()
    assert server.seen[-1]["reason"] is None


def test_missing_region_is_a_clear_error(server):
    with pytest.raises(OpenSearchAuthError, match="REGION"):
        build_client(sigv4_settings(server.url, region=None))


def test_wrong_credentials_are_refused(server, monkeypatch):
    from opensearchpy.exceptions import AuthorizationException

    server.service = "es"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    client = build_client(sigv4_settings(server.url))
    with pytest.raises(AuthorizationException):
        client.info()
    with pytest.raises(AuthorizationException):
        client.search(index="x", body={"query": {"match_all": {}}})
    assert {r["reason"] for r in server.seen} == {"signature mismatch"}


def test_signing_for_the_wrong_service_is_refused(server):
    from opensearchpy.exceptions import AuthorizationException

    server.service = "aoss"
    with pytest.raises(AuthorizationException):
        build_client(sigv4_settings(server.url, "es")).info()


def test_basic_auth_sends_the_authorization_header(server):
    settings = Settings(
        opensearch_url=f"{server.url}/basic",
        opensearch_auth="basic",
        opensearch_username=USERNAME,
        opensearch_password=PASSWORD,
    )
    assert build_client(settings).info()["cluster_name"] == "verifier"
    (request,) = server.seen
    assert request["path"] == "/basic/"
    assert (
        request["headers"]["authorization"] == "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    )
    assert request["reason"] is None


def test_basic_auth_with_a_wrong_password_is_refused(server):
    from opensearchpy.exceptions import AuthenticationException

    settings = Settings(
        opensearch_url=f"{server.url}/basic",
        opensearch_auth="basic",
        opensearch_username=USERNAME,
        opensearch_password="nope",
    )
    with pytest.raises(AuthenticationException):
        build_client(settings).info()


def test_no_auth_sends_no_authorization_header(server):
    client = build_client(Settings(opensearch_url=f"{server.url}/basic"))
    from opensearchpy.exceptions import AuthenticationException

    with pytest.raises(AuthenticationException):
        client.info()
    assert "authorization" not in server.seen[-1]["headers"]


def test_client_connection_settings_follow_the_url():
    client = build_client(Settings(opensearch_url="https://search.example.com", opensearch_verify_certs=False))
    (host,) = client.transport.hosts
    assert host["host"] == "search.example.com" and host["port"] == 443 and host.get("use_ssl", True)
    connection = client.transport.get_connection()
    assert connection.use_ssl and not connection.http_compress
    compressed = build_client(Settings(opensearch_url="https://search.example.com", opensearch_http_compress=True))
    assert compressed.transport.get_connection().http_compress
    plain = build_client(Settings(opensearch_url="http://localhost"))
    assert plain.transport.hosts[0]["port"] == 80  # not opensearch-py's default 9200
    assert not plain.transport.get_connection().use_ssl


def test_the_connection_pool_holds_a_connection_per_concurrent_thread(server, caplog):
    """urllib3's default pool of 1 discarded every other connection under load ("Connection pool is
    full" 1,361 times in one 5k-file ingest)."""
    import threading

    from vector_store_api.vector_index.opensearch.client import default_pool_size

    settings = Settings(
        opensearch_url=f"{server.url}/basic",
        opensearch_auth="basic",
        opensearch_username=USERNAME,
        opensearch_password=PASSWORD,
        ingest_workers=3,
    )
    client = build_client(settings)
    assert client.transport.get_connection().pool.pool.maxsize == default_pool_size(3) > 40
    assert (
        build_client(Settings(opensearch_url=server.url, opensearch_pool_size=7))
        .transport.get_connection()
        .pool.pool.maxsize
        == 7
    )

    barrier = threading.Barrier(8)

    def calls() -> None:
        barrier.wait()
        for _ in range(5):
            client.info()

    with caplog.at_level("WARNING", logger="urllib3.connectionpool"):
        threads = [threading.Thread(target=calls) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert len(server.seen) >= 40
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]
