"""bulk_ingest: S3 objects -> Files + a file batch + one ingest_file message each, exactly once."""

from __future__ import annotations

import json
import time

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from lambda_harness import BUCKET, TABLE, invoke, message_body, record_from_message, sqs_event, sqs_record

pytest_plugins = ("aws_stack",)  # the `aws` fixture (no conftest.py here: see aws_stack)

SOURCE_BUCKET = "acme-corp-documents"  # as in events/sqs_bulk_ingest.json
DOCS = {
    "leave.txt": b"Parental leave: sixteen weeks fully paid for every new parent.",
    "remote.txt": b"Remote work: up to three days per week with manager approval.",
    "travel.txt": b"Travel: book economy class for flights shorter than six hours.",
}


def _bulk_body(aws, store_id: str, **changes) -> dict:
    body = message_body("sqs_bulk_ingest.json")
    body.update(tenant_id=aws.tenant, vector_store_id=store_id, **changes)
    return body


def _source(aws) -> str:
    """The sample's source bucket, with three objects under its prefix (plus noise around them)."""
    prefix = message_body("sqs_bulk_ingest.json")["source"]["prefix"]
    aws.s3.create_bucket(Bucket=SOURCE_BUCKET)
    aws.s3.put_object(Bucket=SOURCE_BUCKET, Key=prefix, Body=b"")  # a console "folder"
    for name, data in DOCS.items():
        aws.s3.put_object(Bucket=SOURCE_BUCKET, Key=prefix + name, Body=data)
    aws.s3.put_object(Bucket=SOURCE_BUCKET, Key="handbooks/2025/old.txt", Body=b"outside the prefix")
    return prefix


def _batches(aws, store_id: str) -> list[str]:
    return [row[0] for row in aws.sql("SELECT id FROM file_batches WHERE vector_store_id = %s", store_id)]


def _files(aws) -> list[dict]:
    response = aws.api("files", "GET", "/v1/files")
    assert response.status == 200, response
    return response.json()["data"]


def test_bulk_ingest_of_a_prefix_creates_files_a_batch_and_fans_out_once(aws):
    _source(aws)
    store_id = aws.create_store()
    record = sqs_record("sqs_bulk_ingest.json", _bulk_body(aws, store_id))

    assert aws.run_worker(record) == {"batchItemFailures": []}

    files = _files(aws)
    assert sorted(f["filename"] for f in files) == sorted(DOCS)
    assert all(f["purpose"] == "assistants" for f in files)
    by_name = {f["filename"]: f for f in files}
    for name, data in DOCS.items():  # server-side copies, byte for byte
        content = aws.api("files", "GET", "/v1/files/{file_id}/content", file_id=by_name[name]["id"])
        assert content.content == data and by_name[name]["bytes"] == len(data)

    [batch_id] = _batches(aws, store_id)
    route = "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}"
    batch = aws.api("vector_store_files", "GET", route, vector_store_id=store_id, batch_id=batch_id).json()
    assert batch["status"] == "in_progress" and batch["file_counts"]["in_progress"] == 3

    messages = aws.receive_all()
    assert sorted(json.loads(m["Body"])["file_id"] for m in messages) == sorted(f["id"] for f in files)
    assert all(json.loads(m["Body"])["type"] == "ingest_file" for m in messages)

    # The worker ingests the fanned-out files; the batch completes.
    result = aws.run_worker(*(record_from_message(m, aws.queue_arn) for m in messages))
    assert len(messages) == 3 and result == {"batchItemFailures": []}
    batch = aws.api("vector_store_files", "GET", route, vector_store_id=store_id, batch_id=batch_id).json()
    assert batch["status"] == "completed" and batch["file_counts"]["completed"] == 3
    listed = aws.api(
        "vector_store_files", "GET", "/v1/vector_stores/{vector_store_id}/files", vector_store_id=store_id
    ).json()["data"]
    assert {f["attributes"]["team"] for f in listed} == {"hr"}  # the message's attributes

    hits = aws.api(
        "search",
        "POST",
        "/v1/vector_stores/{vector_store_id}/search",
        {"query": "parental leave weeks", "filters": {"type": "eq", "key": "team", "value": "hr"}},
        vector_store_id=store_id,
    ).json()["data"]
    assert hits and hits[0]["filename"] == "leave.txt"

    # SQS redelivers the same bulk message: the idempotency record answers, nothing is redone.
    again = sqs_record("sqs_bulk_ingest.json", record["body"], message_id=record["messageId"], receive_count=2)
    assert aws.run_worker(again) == {"batchItemFailures": []}
    assert len(_files(aws)) == 3
    assert _batches(aws, store_id) == [batch_id]
    assert aws.receive_all() == []
    [item] = aws.dynamodb.scan(TableName=TABLE)["Items"]
    assert item["status"]["S"] == "COMPLETED"
    assert json.loads(item["data"]["S"]) == {"batch_ids": [batch_id], "files": 3, "rejected": []}


def test_bulk_ingest_of_listed_keys_honours_the_idempotency_key(aws):
    _source(aws)
    store_id = aws.create_store()
    keys = ["handbooks/2026/leave.txt", "handbooks/2025/old.txt"]
    body = _bulk_body(
        aws,
        store_id,
        source={"bucket": SOURCE_BUCKET, "keys": keys},
        purpose="user_data",
        attributes=None,
        idempotency_key="import-2026-11-21",
    )
    first = sqs_record("sqs_bulk_ingest.json", body, message_id="bulk-a")
    assert aws.run_worker(first) == {"batchItemFailures": []}
    files = _files(aws)
    assert sorted(f["filename"] for f in files) == ["leave.txt", "old.txt"]
    assert {f["purpose"] for f in files} == {"user_data"}
    assert len(aws.receive_all()) == 2
    [batch_id] = _batches(aws, store_id)

    # The producer sent it twice (a different SQS message, the same idempotency key): done once.
    second = sqs_record("sqs_bulk_ingest.json", body, message_id="bulk-b")
    assert aws.run_worker(second) == {"batchItemFailures": []}
    assert len(_files(aws)) == 2 and _batches(aws, store_id) == [batch_id]
    assert aws.receive_all() == []


def test_bulk_ingest_of_an_empty_prefix_is_dead_lettered(aws):
    _source(aws)
    store_id = aws.create_store()
    body = _bulk_body(aws, store_id, source={"bucket": SOURCE_BUCKET, "prefix": "nothing/here/"})
    assert aws.run_worker(sqs_record("sqs_bulk_ingest.json", body)) == {"batchItemFailures": []}
    [letter] = aws.receive_all(aws.dlq_url)
    assert "found no objects" in letter["MessageAttributes"]["reason"]["StringValue"]
    assert _files(aws) == [] and _batches(aws, store_id) == []


def test_bulk_ingest_killed_by_a_timeout_is_retried_once_its_invocation_is_over(aws, monkeypatch):
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

    from vector_store_api.aws.s3_blobstore import S3BlobStore

    _source(aws)
    store_id = aws.create_store()
    record = sqs_record("sqs_bulk_ingest.json", _bulk_body(aws, store_id))

    # The first invocation dies mid-copy when Lambda kills it at its timeout: nothing cleans up, so
    # its idempotency record stays INPROGRESS.
    with monkeypatch.context() as killed:
        killed.setattr(BasePersistenceLayer, "delete_record", lambda self, data, exception: None)

        def timed_out(*args, **kwargs):
            raise TimeoutError("Task timed out after 0.30 seconds")

        killed.setattr(S3BlobStore, "copy_from", timed_out)
        with pytest.raises(BatchProcessingError):
            invoke("ingest_worker", sqs_event(record), timeout_s=0.3)
    [item] = aws.dynamodb.scan(TableName=TABLE)["Items"]
    assert item["status"]["S"] == "INPROGRESS"
    assert "in_progress_expiration" in item  # bounded by the invocation's remaining time, not 7 days

    # SQS redelivers after the visibility timeout: the dead invocation no longer blocks it.
    time.sleep(0.35)
    retry = sqs_record("sqs_bulk_ingest.json", record["body"], message_id=record["messageId"], receive_count=2)
    assert aws.run_worker(retry) == {"batchItemFailures": []}
    assert sorted(f["filename"] for f in _files(aws)) == sorted(DOCS)
    assert len(_batches(aws, store_id)) == 1 and len(aws.receive_all()) == 3


def test_bulk_ingest_failing_half_way_is_retried_without_creating_any_file_twice(aws, monkeypatch):
    from vector_store_api.aws.s3_blobstore import S3BlobStore

    _source(aws)
    store_id = aws.create_store()
    record = sqs_record("sqs_bulk_ingest.json", _bulk_body(aws, store_id), message_id="bulk-half-way")
    copy_from = S3BlobStore.copy_from
    copies: list[str] = []

    def copy_then_fail(self, blob_key, bucket, key):  # S3 throttles the second copy
        copies.append(key)
        if len(copies) == 2:
            raise ConnectionError("S3 is throttling")
        return copy_from(self, blob_key, bucket, key)

    with monkeypatch.context() as flaky:
        flaky.setattr(S3BlobStore, "copy_from", copy_then_fail)
        with pytest.raises(BatchProcessingError):
            aws.run_worker(record)
    assert len(_files(aws)) == 1  # the first object's File, made before the failure

    retry = sqs_record("sqs_bulk_ingest.json", record["body"], message_id=record["messageId"], receive_count=2)
    assert aws.run_worker(retry) == {"batchItemFailures": []}
    files = _files(aws)
    assert sorted(f["filename"] for f in files) == sorted(DOCS)  # one File per object, not one more
    assert aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="files/").get("KeyCount", 0) == len(DOCS)
    assert aws.drain_ingest_queue()[0] == len(DOCS)
    assert all(aws.store_file(store_id, f["id"])["status"] == "completed" for f in files)


def test_bulk_ingest_of_a_missing_key_is_dead_lettered_before_creating_anything(aws):
    _source(aws)
    store_id = aws.create_store()
    keys = ["handbooks/2026/leave.txt", "handbooks/2026/typo.txt", "handbooks/2026/travel.txt"]
    body = _bulk_body(aws, store_id, source={"bucket": SOURCE_BUCKET, "keys": keys})
    assert aws.run_worker(sqs_record("sqs_bulk_ingest.json", body)) == {"batchItemFailures": []}
    [letter] = aws.receive_all(aws.dlq_url)
    reason = letter["MessageAttributes"]["reason"]["StringValue"]
    assert "handbooks/2026/typo.txt" in reason
    # No orphan Files (a retry would have duplicated them), no batch, no ingest messages.
    assert _files(aws) == [] and _batches(aws, store_id) == [] and aws.receive_all() == []
    assert aws.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_bulk_ingest_skips_objects_over_the_size_limit_and_loads_the_rest(aws, monkeypatch):
    from aws_stack import reset_lambda_state  # imported here: pytest_plugins registers the module

    monkeypatch.setenv("MAX_FILE_BYTES", "100")
    reset_lambda_state()  # settings are read once per container
    prefix = _source(aws)
    aws.s3.put_object(Bucket=SOURCE_BUCKET, Key=prefix + "huge.txt", Body=b"x" * 101)
    store_id = aws.create_store()

    record = sqs_record("sqs_bulk_ingest.json", _bulk_body(aws, store_id), message_id="bulk-size")
    assert aws.run_worker(record) == {"batchItemFailures": []}

    assert sorted(f["filename"] for f in _files(aws)) == sorted(DOCS)
    assert len(_batches(aws, store_id)) == 1
    assert len(aws.receive_all()) == len(DOCS)
    # The rejected copy left nothing behind in the files bucket.
    stored = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="files/").get("KeyCount", 0)
    assert stored == len(DOCS)
