"""End to end: per-key request limits and per-store write limits, as OpenAI reports them, on
dedicated local servers with small limits (the shared e2e servers are effectively unlimited)."""

from __future__ import annotations

import re
import time

import httpx
import openai
import pytest
from tests.support.sdk import assert_error_body, make_client, upload
from tests.support.sdk import http_client as _http
from tests.support.servers import ServerProcess, serve

REQUESTS = 10  # per key per minute
STORE_WRITES = 3  # per store per minute
DURATION = re.compile(r"^(\d+h)?(\d+m)?(\d+(\.\d+)?s|\d+ms)$")  # OpenAI's "6m0s", "1.5s", "120ms"


@pytest.fixture(scope="module")
def limited(tmp_path_factory) -> ServerProcess:
    yield from serve(
        tmp_path_factory.mktemp("server-rate-limits"),
        RATE_LIMIT_REQUESTS_PER_MINUTE=str(REQUESTS),
        STORE_WRITES_PER_MINUTE=str(STORE_WRITES),
    )


@pytest.fixture(scope="module")
def short_window(tmp_path_factory) -> ServerProcess:
    """2 requests per 2 s: a token every second, so the SDK's retry wait is short."""
    yield from serve(
        tmp_path_factory.mktemp("server-rate-limits-short"), RATE_LIMIT_REQUESTS_PER_MINUTE="2", RATE_LIMIT_WINDOW_SECONDS="2"
    )


def test_every_response_carries_the_rate_limit_headers(limited):
    with _http(limited) as http:
        first = http.get("/v1/vector_stores")
        assert first.status_code == 200
        assert first.headers["x-ratelimit-limit-requests"] == str(REQUESTS)
        assert first.headers["x-ratelimit-remaining-requests"] == str(REQUESTS - 1)
        assert DURATION.match(first.headers["x-ratelimit-reset-requests"]), first.headers
        assert first.headers["x-ratelimit-reset-requests"] == "6s"  # one request used: full again in 60 / 10 s
        assert "retry-after" not in first.headers

        missing = http.get("/v1/files/file-nope")  # errors count and carry the headers too
        assert missing.status_code == 404
        assert missing.headers["x-ratelimit-remaining-requests"] == str(REQUESTS - 2)
        assert DURATION.match(missing.headers["x-ratelimit-reset-requests"])


def test_sdk_raises_rate_limit_error_over_the_limit(limited):
    client = make_client(limited.base_url)  # max_retries=0
    for expected_remaining in range(REQUESTS - 1, -1, -1):
        raw = client.vector_stores.with_raw_response.list()
        assert raw.headers["x-ratelimit-remaining-requests"] == str(expected_remaining)
        raw.parse()
    with pytest.raises(openai.RateLimitError) as info:
        client.vector_stores.list()
    error = info.value
    assert error.status_code == 429
    assert_error_body({"error": error.body})
    assert error.code == "rate_limit_exceeded" and error.type == "requests" and error.param is None
    assert f"Limit {REQUESTS}" in error.message and "Please try again in" in error.message
    headers = error.response.headers
    retry_after = int(headers["retry-after"])
    retry_after_ms = int(headers["retry-after-ms"])
    assert 1 <= retry_after <= 6 and 0 < retry_after_ms <= 6000 and retry_after >= retry_after_ms / 1000
    assert headers["x-ratelimit-limit-requests"] == str(REQUESTS)
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert DURATION.match(headers["x-ratelimit-reset-requests"])
    assert error.request_id

    # Another key is unaffected.
    other = make_client(limited.base_url).vector_stores.with_raw_response.list()
    assert other.headers["x-ratelimit-remaining-requests"] == str(REQUESTS - 1)


def test_unauthenticated_requests_and_health_are_not_limited(limited):
    for _ in range(REQUESTS + 5):
        health = httpx.get(limited.base_url + "/health")
        assert health.status_code == 200 and "x-ratelimit-limit-requests" not in health.headers
    for _ in range(REQUESTS + 5):
        anonymous = httpx.get(limited.base_url + "/v1/files")
        assert anonymous.status_code == 401 and "x-ratelimit-limit-requests" not in anonymous.headers


def test_store_write_limit_is_per_store_and_shared_by_attaches_and_batches(limited):
    client = make_client(limited.base_url)
    file = upload(client)  # request 1
    store = client.vector_stores.create(name="limited")  # 2
    for _ in range(STORE_WRITES):  # 3, 4, 5 (re-attaching the same file is still a write)
        client.vector_stores.files.create(vector_store_id=store.id, file_id=file.id)

    with pytest.raises(openai.RateLimitError) as info:  # 6
        client.vector_stores.files.create(vector_store_id=store.id, file_id=file.id)
    error = info.value
    assert error.code == "rate_limit_exceeded" and error.type == "requests"
    assert "per-vector-store write limit" in error.message and store.id in error.message
    assert f"Limit {STORE_WRITES}" in error.message
    assert int(error.response.headers["retry-after"]) >= 1 and int(error.response.headers["retry-after-ms"]) > 0
    # The key's own limit still shows, with the store-denied request counted.
    assert error.response.headers["x-ratelimit-remaining-requests"] == str(REQUESTS - 6)

    with pytest.raises(openai.RateLimitError) as info:  # 7: file batches share the store's budget
        client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[file.id])
    assert "per-vector-store write limit" in info.value.message

    assert [f.id for f in client.vector_stores.files.list(vector_store_id=store.id)] == [file.id]  # 8: reads work
    other_store = client.vector_stores.create(name="other")  # 9
    attached = client.vector_stores.files.create(vector_store_id=other_store.id, file_id=file.id)  # 10
    assert attached.vector_store_id == other_store.id


def test_sdk_retries_after_retry_after(short_window):
    client = make_client(short_window.base_url).with_options(max_retries=2)
    client.vector_stores.list()
    client.vector_stores.list()
    started = time.monotonic()
    raw = client.vector_stores.with_raw_response.list()  # 429 (retry-after-ms ≈ 1000), then 200
    elapsed = time.monotonic() - started
    raw.parse()
    assert raw.retries_taken == 1
    assert raw.http_request.headers["x-stainless-retry-count"] == "1"
    assert elapsed >= 0.8, elapsed  # waited as the server said, not the SDK's 0.5 s default backoff
    assert raw.headers["x-ratelimit-remaining-requests"] == "0"

    # Without retries the same situation is a RateLimitError whose Retry-After is the next token.
    with pytest.raises(openai.RateLimitError) as info:
        make_client(short_window.base_url, client.api_key).vector_stores.list()
    assert int(info.value.response.headers["retry-after"]) == 1
    assert 0 < int(info.value.response.headers["retry-after-ms"]) <= 1000
