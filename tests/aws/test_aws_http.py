"""The HTTP handlers behind API Gateway, end to end through SQS and the ingest worker."""

from __future__ import annotations

import base64
import json

import pytest
from lambda_harness import (
    BUCKET,
    HTTP_FUNCTIONS,
    SECRET_ID,
    TEMPLATES,
    call,
    http_event,
    load_event,
    record_from_message,
    reset_lambda_state,
)

from vector_store_api.api.deps import MISSING_KEY_MESSAGE

pytest_plugins = ("aws_stack",)  # the `aws` fixture (no conftest.py here: see aws_stack)


def _sample_file_bytes() -> bytes:
    """The file inside events/files.json's multipart body."""
    body = base64.b64decode(load_event("files.json")["body"])
    part_header = b"Content-Type: text/plain\r\n\r\n"
    return body[body.index(part_header) + len(part_header) : body.rindex(b"\r\n--")]


def test_upload_attach_ingest_search_through_every_handler(aws):
    # 1. vector_stores: the sample event, as is (but for the tenant).
    event = load_event("vector_stores.json")
    event["headers"]["authorization"] = f"Bearer {aws.token}"
    created = call("vector_stores", event)
    assert created.status == 200, created
    store = created.json()
    assert store["object"] == "vector_store" and store["name"] == "handbook"
    store_id = store["id"]

    # 2. files: the sample multipart upload, base64-encoded as API Gateway delivers it.
    event = load_event("files.json")
    event["headers"]["authorization"] = f"Bearer {aws.token}"
    uploaded = call("files", event)
    assert uploaded.status == 200, uploaded
    file = uploaded.json()
    original = _sample_file_bytes()
    assert file["object"] == "file" and file["purpose"] == "assistants"
    assert file["filename"] == "handbook.txt" and file["bytes"] == len(original)
    file_id = file["id"]
    stored = aws.s3.get_object(Bucket=BUCKET, Key=f"files/{aws.tenant}/{file_id}")
    assert stored["Body"].read() == original

    # 3. vector_store_files: the sample attach, with the real ids.
    event = load_event("vector_store_files.json")
    event["headers"]["authorization"] = f"Bearer {aws.token}"
    body = json.loads(event["body"])
    body["file_id"] = file_id
    event["body"] = json.dumps(body)
    event["headers"]["content-length"] = str(len(event["body"]))
    event["rawPath"] = event["requestContext"]["http"]["path"] = event["rawPath"].replace("vs_example", store_id)
    event["pathParameters"]["vector_store_id"] = store_id
    attached = call("vector_store_files", event)
    assert attached.status == 200, attached
    assert attached.json()["status"] == "in_progress"
    assert attached.json()["attributes"] == {"team": "hr", "year": 2026}
    assert attached.headers["openai-poll-after-ms"]

    # 4. The ingest message is on the queue, in the documented format.
    messages = aws.receive_all()
    assert len(messages) == 1
    message = messages[0]
    assert json.loads(message["Body"]) == {
        "version": 1,
        "type": "ingest_file",
        "tenant_id": aws.tenant,
        "vector_store_id": store_id,
        "file_id": file_id,
    }
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(message["Attributes"])

    # 5. The worker consumes it (an event built from the received message and events/sqs_ingest.json).
    result = aws.run_worker(record_from_message(message, aws.queue_arn))
    assert result == {"batchItemFailures": []}
    settled = aws.store_file(store_id, file_id)
    assert settled["status"] == "completed" and settled["last_error"] is None
    assert settled["usage_bytes"] > 0
    assert aws.chunk_count(store_id, file_id) >= 1
    assert aws.store(store_id)["file_counts"] == {
        "in_progress": 0,
        "completed": 1,
        "failed": 0,
        "cancelled": 0,
        "total": 1,
    }

    # 6. search: the sample query and attribute filter finds it; a non-matching filter does not.
    event = load_event("search.json")
    event["headers"]["authorization"] = f"Bearer {aws.token}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = event["rawPath"].replace("vs_example", store_id)
    event["pathParameters"]["vector_store_id"] = store_id
    found = call("search", event)
    assert found.status == 200, found
    page = found.json()
    assert page["object"] == "vector_store.search_results.page"
    assert [hit["file_id"] for hit in page["data"]] == [file_id]
    assert page["data"][0]["attributes"] == {"team": "hr", "year": 2026}
    assert "vacation" in page["data"][0]["content"][0]["text"]

    search = json.loads(load_event("search.json")["body"])
    search["filters"] = {"type": "eq", "key": "team", "value": "finance"}
    missed = aws.api("search", "POST", "/v1/vector_stores/{vector_store_id}/search", search, vector_store_id=store_id)
    assert missed.status == 200 and missed.json()["data"] == []


def test_file_content_comes_back_byte_for_byte_base64_encoded(aws):
    data = bytes(range(256)) + b"\x00\xff binary tail"
    file_id = aws.upload("blob.bin", data)
    response = aws.api("files", "GET", "/v1/files/{file_id}/content", file_id=file_id)
    assert response.status == 200, response
    assert response.raw["isBase64Encoded"] is True  # Mangum: binary bodies leave base64-encoded
    assert response.content == data
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == 'attachment; filename="blob.bin"'

    # The sample upload too.
    event = load_event("files.json")
    event["headers"]["authorization"] = f"Bearer {aws.token}"
    sample_id = call("files", event).json()["id"]
    original = _sample_file_bytes()
    assert aws.api("files", "GET", "/v1/files/{file_id}/content", file_id=sample_id).content == original


def test_files_are_listed_retrieved_and_deleted_with_their_s3_object(aws):
    file_id = aws.upload("notes.txt", b"meeting notes")
    listed = aws.api("files", "GET", "/v1/files", query="purpose=assistants&limit=10")
    assert listed.status == 200 and [f["id"] for f in listed.json()["data"]] == [file_id]
    assert aws.api("files", "GET", "/v1/files/{file_id}", file_id=file_id).json()["filename"] == "notes.txt"
    key = f"files/{aws.tenant}/{file_id}"
    assert aws.s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == 13
    deleted = aws.api("files", "DELETE", "/v1/files/{file_id}", file_id=file_id)
    assert deleted.json() == {"id": file_id, "object": "file", "deleted": True}
    assert aws.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
    missing = aws.api("files", "GET", "/v1/files/{file_id}", file_id=file_id)
    assert missing.status == 404 and missing.json()["error"]["param"] == "file_id"


def test_file_batch_of_25_enqueues_one_message_per_file(aws):
    store_id = aws.create_store()
    file_ids = [aws.upload(f"doc-{i:02d}.txt", f"document number {i} about topic {i % 3}".encode()) for i in range(25)]
    response = aws.api(
        "vector_store_files",
        "POST",
        "/v1/vector_stores/{vector_store_id}/file_batches",
        {"file_ids": file_ids, "attributes": {"source": "batch"}},
        vector_store_id=store_id,
    )
    assert response.status == 200, response
    batch = response.json()
    assert batch["object"] == "vector_store.files_batch" and batch["status"] == "in_progress"
    assert batch["file_counts"]["in_progress"] == 25 and batch["file_counts"]["total"] == 25

    messages = aws.receive_all()
    bodies = [json.loads(m["Body"]) for m in messages]
    assert len(messages) == 25
    assert sorted(b["file_id"] for b in bodies) == sorted(file_ids)
    assert all(b["type"] == "ingest_file" and b["vector_store_id"] == store_id for b in bodies)

    # The worker settles them all; the batch reads completed.
    result = aws.run_worker(*(record_from_message(m, aws.queue_arn) for m in messages))
    assert result == {"batchItemFailures": []}
    done = aws.api(
        "vector_store_files",
        "GET",
        "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}",
        vector_store_id=store_id,
        batch_id=batch["id"],
    ).json()
    assert done["status"] == "completed" and done["file_counts"]["completed"] == 25


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
def test_every_route_group_sends_request_ids_and_401s_without_a_key(aws, function):
    template = TEMPLATES[function]
    params = load_event(template).get("pathParameters") or {}

    event = load_event(template)
    del event["headers"]["authorization"]
    response = call(function, event)
    assert response.status == 401, response
    assert response.json() == {
        "error": {"message": MISSING_KEY_MESSAGE, "type": "invalid_request_error", "param": None, "code": None}
    }
    assert response.headers["x-request-id"].startswith("req_")

    # An authenticated request (404 for the sample's placeholder ids, 200 otherwise; the organization
    # endpoints are off until an admin key exists) carries one too.
    event = load_event(template)
    event["headers"]["authorization"] = f"Bearer {aws.token}"
    response = call(function, event)
    assert response.status in ((403,) if function == "organization" else (200, 404)), response
    if params:
        assert response.status == 404 and response.json()["error"]["type"] == "invalid_request_error"
    assert response.headers["x-request-id"].startswith("req_")

    # The health check answers on every function.
    health = call(function, http_event("health.json", "GET", "/health", token=None))
    assert health.status == 200 and health.json() == {"status": "ok"}
    assert health.headers["x-request-id"].startswith("req_")


def test_unknown_route_on_a_function_is_an_openai_404(aws):
    response = aws.api("search", "GET", "/v1/files")
    assert response.status == 404
    assert response.json()["error"]["message"] == "Invalid URL (GET /v1/files)"


def test_misconfigured_function_answers_500_with_a_request_id(aws, monkeypatch):

    monkeypatch.delenv("FILES_BUCKET")
    reset_lambda_state(monkeypatch)
    response = aws.api("vector_stores", "GET", "/v1/vector_stores")
    assert response.status == 500
    assert response.json()["error"]["type"] == "server_error"
    assert "FILES_BUCKET" not in response.raw["body"]  # nothing internal leaks
    assert response.headers["x-request-id"].startswith("req_")


def test_a_warm_container_reuses_its_services_and_cached_secret(aws):
    import boto3

    from vector_store_api.aws import runtime

    assert runtime._services is None  # cold start: nothing built before the first invocation
    aws.create_store()
    warm = runtime._services
    assert warm is not None
    # The secret is fetched at cold start and cached: a warm invocation neither re-reads it nor rebuilds.
    boto3.client("secretsmanager").put_secret_value(SecretId=SECRET_ID, SecretString="postgresql://nowhere/none")
    aws.create_store()
    assert runtime._services is warm
    assert len(aws.api("vector_stores", "GET", "/v1/vector_stores").json()["data"]) == 2


def test_the_organization_function_serves_the_admin_console(aws):
    """One deploy gives API and console: /admin on the organization function (template.yaml), with
    the console's CSP, the built script, and a 404 for anything that is not a built file."""
    page = call("organization", http_event("health.json", "GET", "/admin", token=None))
    assert page.status == 200, page
    assert b'src="/admin/assets/console.js"' in page.content
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = call("organization", http_event("health.json", "GET", "/admin/assets/console.js", token=None))
    assert script.status == 200 and script.headers["content-type"].startswith("text/javascript")
    assert b"/v1/organization/usage/vector_stores" in script.content
    missing = call("organization", http_event("health.json", "GET", "/admin/assets/nope.js", token=None))
    assert missing.status == 404 and missing.json()["error"]["type"] == "invalid_request_error"
