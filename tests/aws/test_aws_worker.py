"""The SQS ingest worker and the DLQ consumer: redeliveries, poison messages, partial failures."""

from __future__ import annotations

import json
import time

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from lambda_harness import (
    BUCKET,
    MAX_RECEIVE_COUNT,
    TABLE,
    ingest_body,
    invoke,
    load_event,
    record_from_message,
    sqs_event,
    sqs_record,
)

pytest_plugins = ("aws_stack",)  # the `aws` fixture (no conftest.py here: see aws_stack)

LONG_TEXT = " ".join(f"Section {i}: employees file expense reports within {i % 30 + 1} days." for i in range(220))


def _attached(aws, count: int = 1, attributes: dict | None = None) -> tuple[str, list[str]]:
    store_id = aws.create_store()
    file_ids = []
    for i in range(count):
        file_id = aws.upload(f"policy-{i}.txt", f"Policy {i}. {LONG_TEXT}".encode())
        aws.attach(store_id, file_id, attributes)
        file_ids.append(file_id)
    return store_id, file_ids


def _dead_letters(aws) -> list[dict]:
    return aws.receive_all(aws.dlq_url)


def test_redelivered_ingest_message_never_duplicates_chunks_or_counts(aws):
    store_id, [file_id] = _attached(aws)
    [message] = aws.receive_all()
    first = record_from_message(message, aws.queue_arn)
    assert aws.run_worker(first) == {"batchItemFailures": []}
    chunks = aws.chunk_count(store_id, file_id)
    assert chunks >= 3  # a multi-chunk file
    store = aws.store(store_id)
    assert store["file_counts"]["completed"] == 1 and store["file_counts"]["total"] == 1

    # SQS delivers it again (at-least-once): nothing changes.
    again = sqs_record(
        "sqs_ingest.json",
        message["Body"],
        message_id=message["MessageId"],
        receive_count=2,
        event_source_arn=aws.queue_arn,
    )
    assert aws.run_worker(again) == {"batchItemFailures": []}
    assert aws.chunk_count(store_id, file_id) == chunks
    assert aws.store(store_id)["file_counts"] == store["file_counts"]
    assert aws.store(store_id)["usage_bytes"] == store["usage_bytes"]

    # A delivery whose invocation died after indexing but before settling: the retry re-indexes
    # (replacing, not adding, chunks) and settles the file exactly once.
    aws.sql(
        "UPDATE vector_store_files SET status = 'in_progress', usage_bytes = 0 WHERE vector_store_id = %s AND file_id = %s",
        store_id,
        file_id,
    )
    assert aws.store(store_id)["file_counts"]["in_progress"] == 1
    assert aws.run_worker(again) == {"batchItemFailures": []}
    assert aws.chunk_count(store_id, file_id) == chunks
    assert aws.store(store_id)["file_counts"] == store["file_counts"]
    assert aws.store_file(store_id, file_id)["status"] == "completed"


def test_poison_messages_go_to_the_dlq_with_a_reason_and_never_block_the_batch(aws):
    store_id, [file_id] = _attached(aws)
    [message] = aws.receive_all()
    good = record_from_message(message, aws.queue_arn)
    valid = ingest_body(aws.tenant, store_id, file_id)
    poison = {
        "not-json": "this is not JSON {",
        "wrong-version": json.dumps({**valid, "version": 2}),
        "missing-field": json.dumps({k: v for k, v in valid.items() if k != "file_id"}),
        "unknown-type": json.dumps({**valid, "type": "delete_everything"}),
        "not-an-object": json.dumps(["ingest_file"]),
    }
    records = [sqs_record("sqs_ingest.json", body, message_id=f"poison-{name}") for name, body in poison.items()]

    result = aws.run_worker(records[0], good, *records[1:])

    assert result == {"batchItemFailures": []}  # removed from the queue, not retried
    assert aws.store_file(store_id, file_id)["status"] == "completed"  # the good record was processed
    dead = {m["MessageAttributes"]["source_message_id"]["StringValue"]: m for m in _dead_letters(aws)}
    assert set(dead) == {f"poison-{name}" for name in poison}
    for name, body in poison.items():
        letter = dead[f"poison-{name}"]
        assert letter["Body"] == body
        reason = letter["MessageAttributes"]["reason"]
        assert reason["DataType"] == "String"
        assert reason["StringValue"].startswith("malformed ingest message: ")
    assert "version" in dead["poison-wrong-version"]["MessageAttributes"]["reason"]["StringValue"]
    assert "file_id" in dead["poison-missing-field"]["MessageAttributes"]["reason"]["StringValue"]


def test_bulk_ingest_for_a_missing_store_is_dead_lettered_with_a_reason(aws):
    body = json.loads(load_event("sqs_bulk_ingest.json")["Records"][0]["body"])
    body.update(tenant_id=aws.tenant, vector_store_id="vs_doesnotexist")
    record = sqs_record("sqs_bulk_ingest.json", body, message_id="bulk-missing-store")
    assert aws.run_worker(record) == {"batchItemFailures": []}
    [letter] = _dead_letters(aws)
    assert json.loads(letter["Body"]) == body
    reason = letter["MessageAttributes"]["reason"]["StringValue"]
    assert reason.startswith("bulk ingest refused: ") and "vs_doesnotexist" in reason
    # Nothing was created and no idempotency record stays behind to swallow a corrected retry.
    assert aws.api("files", "GET", "/v1/files").json()["data"] == []
    assert aws.dynamodb.scan(TableName=TABLE)["Items"] == []


def test_a_transient_failure_fails_only_its_record_until_the_last_delivery_settles_it(aws):
    store_id, file_ids = _attached(aws, 3)
    messages = {json.loads(m["Body"])["file_id"]: m for m in aws.receive_all()}
    assert set(messages) == set(file_ids)
    broken = file_ids[1]
    # The object disappears behind the service's back.
    aws.s3.delete_object(Bucket=BUCKET, Key=f"files/{aws.tenant}/{broken}")

    records = [record_from_message(messages[f], aws.queue_arn) for f in file_ids]
    result = aws.run_worker(*records)
    assert result == {"batchItemFailures": [{"itemIdentifier": messages[broken]["MessageId"]}]}
    assert [aws.store_file(store_id, f)["status"] for f in file_ids] == ["completed", "in_progress", "completed"]

    # Second delivery, still not the last: the whole (one-record) batch fails and SQS retries it.
    retry = sqs_record(
        "sqs_ingest.json", messages[broken]["Body"], message_id=messages[broken]["MessageId"], receive_count=2
    )
    with pytest.raises(BatchProcessingError):
        aws.run_worker(retry)
    assert aws.store_file(store_id, broken)["status"] == "in_progress"

    # Last delivery (ApproximateReceiveCount == maxReceiveCount): the file is settled failed instead.
    last = sqs_record(
        "sqs_ingest.json",
        messages[broken]["Body"],
        message_id=messages[broken]["MessageId"],
        receive_count=MAX_RECEIVE_COUNT,
    )
    assert aws.run_worker(last) == {"batchItemFailures": []}
    failed = aws.store_file(store_id, broken)
    assert failed["status"] == "failed"
    assert failed["last_error"]["code"] == "server_error" and failed["last_error"]["message"]
    assert "NoSuchKey" not in failed["last_error"]["message"]  # nothing internal leaks to the SDK
    assert aws.chunk_count(store_id, broken) == 0
    counts = aws.store(store_id)["file_counts"]
    assert (counts["completed"], counts["failed"], counts["in_progress"]) == (2, 1, 0)
    assert _dead_letters(aws) == []  # a transient failure is not a poison message


def test_a_redelivery_past_the_retry_window_settles_the_file_before_the_last_delivery(aws):
    from vector_store_api.settings import Settings

    store_id, [broken] = _attached(aws, 1)
    [message] = aws.receive_all()
    aws.s3.delete_object(Bucket=BUCKET, Key=f"files/{aws.tenant}/{broken}")
    window = Settings().ingest_retry_seconds
    body, message_id = message["Body"], message["MessageId"]

    recent = sqs_record("sqs_ingest.json", body, message_id=message_id, receive_count=2, first_received_at=time.time() - 60)
    with pytest.raises(BatchProcessingError):  # inside the window: SQS will deliver it again
        aws.run_worker(recent)
    assert aws.store_file(store_id, broken)["status"] == "in_progress"

    late = sqs_record(
        "sqs_ingest.json", body, message_id=message_id, receive_count=3, first_received_at=time.time() - window - 1
    )
    assert aws.run_worker(late) == {"batchItemFailures": []}
    assert aws.store_file(store_id, broken)["status"] == "failed"


def test_dlq_consumer_settles_files_still_in_progress(aws):
    store_id, [stuck, done] = _attached(aws, 2)
    [done_message] = [m for m in aws.receive_all() if json.loads(m["Body"])["file_id"] == done]
    assert aws.run_worker(record_from_message(done_message, aws.queue_arn)) == {"batchItemFailures": []}
    assert aws.store_file(store_id, stuck)["status"] == "in_progress"

    event = load_event("sqs_dlq.json")
    template = event["Records"][0]
    event["Records"] = [
        sqs_record("sqs_dlq.json", ingest_body(aws.tenant, store_id, stuck), message_id="dead-stuck"),
        # A message moved by the redrive policy carries no "reason" attribute.
        sqs_record(
            "sqs_dlq.json", ingest_body(aws.tenant, store_id, done), message_id="dead-done", message_attributes={}
        ),
    ]
    assert template["messageAttributes"]["reason"]["stringValue"]

    assert invoke("ingest_dlq", event) == {"batchItemFailures": []}
    failed = aws.store_file(store_id, stuck)
    assert failed["status"] == "failed"
    assert failed["last_error"] == {
        "code": "server_error",
        "message": "The file could not be processed after repeated attempts.",
    }
    assert aws.store_file(store_id, done)["status"] == "completed"  # settled files stay as they are
    counts = aws.store(store_id)["file_counts"]
    assert (counts["completed"], counts["failed"], counts["in_progress"]) == (1, 1, 0)


def test_a_message_sqs_redrives_after_max_receives_is_settled_by_the_dlq_consumer(aws):
    store_id, [file_id] = _attached(aws)
    # Every delivery fails (the worker never deletes it): SQS redelivers it maxReceiveCount times...
    for attempt in range(1, MAX_RECEIVE_COUNT + 1):
        [message] = aws.sqs.receive_message(QueueUrl=aws.queue_url, AttributeNames=["All"], VisibilityTimeout=0)[
            "Messages"
        ]
        assert message["Attributes"]["ApproximateReceiveCount"] == str(attempt)
    # ... then its redrive policy moves it to the DLQ, as it was (no "reason" attribute).
    assert aws.receive_all() == []
    [dead] = aws.receive_all(aws.dlq_url)
    assert dead["Body"] == message["Body"] and "MessageAttributes" not in dead

    record = record_from_message(dead, aws.dlq_arn, template="sqs_dlq.json")
    assert invoke("ingest_dlq", sqs_event(record)) == {"batchItemFailures": []}
    failed = aws.store_file(store_id, file_id)
    assert failed["status"] == "failed" and failed["last_error"]["code"] == "server_error"
    assert aws.store(store_id)["file_counts"]["failed"] == 1


def test_dlq_consumer_logs_malformed_and_bulk_messages_without_failing(aws, caplog):
    bulk = json.loads(load_event("sqs_bulk_ingest.json")["Records"][0]["body"])
    event = sqs_event(
        sqs_record("sqs_dlq.json", "this is not JSON {", message_id="dead-garbage"),
        sqs_record("sqs_dlq.json", json.dumps({"version": 7}), message_id="dead-version", message_attributes={}),
        sqs_record("sqs_dlq.json", bulk, message_id="dead-bulk"),
    )
    assert invoke("ingest_dlq", event) == {"batchItemFailures": []}
    logged = [r for r in caplog.records if r.levelname == "ERROR" and r.getMessage().startswith("dead ")]
    assert [r.getMessage() for r in logged] == [
        "dead ingest message (malformed)",
        "dead ingest message (malformed)",
        "dead bulk ingest message",
    ]
    sample_reason = load_event("sqs_dlq.json")["Records"][0]["messageAttributes"]["reason"]["stringValue"]
    assert [r.reason for r in logged] == [sample_reason, "delivery attempts exhausted", sample_reason]
    assert logged[0].body == "this is not JSON {"
