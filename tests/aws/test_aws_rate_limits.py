"""Rate limits on Lambda: the buckets live in DynamoDB (moto), shared by every HTTP function."""

from __future__ import annotations

import uuid

from lambda_harness import RATE_LIMIT_TABLE, reset_lambda_state

pytest_plugins = ("aws_stack",)  # the `aws` fixture (no conftest.py here: see aws_stack)


def _limits(monkeypatch, requests: int, store_writes: int) -> None:
    monkeypatch.setenv("RATE_LIMIT_REQUESTS_PER_MINUTE", str(requests))
    monkeypatch.setenv("STORE_WRITES_PER_MINUTE", str(store_writes))
    reset_lambda_state(monkeypatch)  # a fresh container reads the new settings


def test_key_limit_spans_functions_and_answers_429(aws, monkeypatch):
    _limits(monkeypatch, requests=3, store_writes=100)
    created = aws.api("vector_stores", "POST", "/v1/vector_stores", {"name": "limited"})
    assert created.status == 200, created
    assert created.headers["x-ratelimit-limit-requests"] == "3"
    assert created.headers["x-ratelimit-remaining-requests"] == "2"
    assert created.headers["x-ratelimit-reset-requests"] == "20s"

    listed = aws.api("files", "GET", "/v1/files")  # another function, the same bucket
    assert listed.status == 200 and listed.headers["x-ratelimit-remaining-requests"] == "1"
    store_id = created.json()["id"]
    missing = aws.api("vector_stores", "GET", "/v1/vector_stores/{vector_store_id}", vector_store_id="vs_nope")
    assert missing.status == 404 and missing.headers["x-ratelimit-remaining-requests"] == "0"

    denied = aws.api(
        "search", "POST", "/v1/vector_stores/{vector_store_id}/search", {"query": "x"}, vector_store_id=store_id
    )
    assert denied.status == 429, denied
    error = denied.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "requests" and error["param"] is None
    assert "Limit 3" in error["message"]
    assert 1 <= int(denied.headers["retry-after"]) <= 20
    assert 0 < int(denied.headers["retry-after-ms"]) <= 20_000
    assert denied.headers["x-ratelimit-remaining-requests"] == "0"
    assert denied.headers["x-request-id"]

    [item] = [i for i in aws.dynamodb.scan(TableName=RATE_LIMIT_TABLE)["Items"] if i["key"]["S"] == "req:" + aws.tenant]
    assert set(item) == {"key", "tat", "version", "expires_at"}

    other = aws.api("files", "GET", "/v1/files", token=f"sk-test-{uuid.uuid4().hex}")
    assert other.status == 200 and other.headers["x-ratelimit-remaining-requests"] == "2"


def test_store_write_limit_on_lambda(aws, monkeypatch):
    _limits(monkeypatch, requests=100, store_writes=1)
    store_id = aws.create_store()
    file_id = aws.upload("a.txt", b"hello world")
    aws.attach(store_id, file_id)
    again = aws.api(
        "vector_store_files",
        "POST",
        "/v1/vector_stores/{vector_store_id}/file_batches",
        {"file_ids": [file_id]},
        vector_store_id=store_id,
    )
    assert again.status == 429, again
    assert "per-vector-store write limit" in again.json()["error"]["message"]
    assert int(again.headers["retry-after"]) >= 1
    assert again.headers["x-ratelimit-limit-requests"] == "100"
