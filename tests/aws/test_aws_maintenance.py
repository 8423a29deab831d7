"""The scheduled maintenance function, invoked with events/schedule.json."""

from __future__ import annotations

import time

from lambda_harness import BUCKET, invoke, load_event

pytest_plugins = ("aws_stack",)  # the `aws` fixture (no conftest.py here: see aws_stack)

EXPIRES = {"expires_after[anchor]": "created_at", "expires_after[seconds]": "86400"}


def _exists(aws, key: str) -> bool:
    return aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount", 0) == 1


def test_schedule_deletes_expired_files_with_their_objects_and_empties_expired_stores(aws):
    keep = aws.upload("keep.txt", b"still valid tomorrow", **EXPIRES)
    doomed = aws.upload("doomed.txt", b"expense policy of last year", **EXPIRES)
    assert aws.api("files", "GET", "/v1/files/{file_id}", file_id=doomed).json()["expires_at"] is not None
    store_id = aws.create_store()
    aws.attach(store_id, doomed)
    old_store = aws.create_store(expires_after={"anchor": "last_active_at", "days": 1})
    aws.attach(old_store, keep)
    assert aws.drain_ingest_queue() == (2, {"batchItemFailures": []})
    assert aws.chunk_count(store_id, doomed) >= 1 and aws.chunk_count(old_store, keep) >= 1

    past = int(time.time()) - 60
    aws.sql("UPDATE files SET expires_at = %s WHERE id = %s", past, doomed)
    aws.sql("UPDATE vector_stores SET last_active_at = %s WHERE id = %s", past - 2 * 86400, old_store)

    result = invoke("maintenance", load_event("schedule.json"))

    assert result == {"expired_files": 1, "expired_stores": 1, "resumed_ingests": 0}
    assert not _exists(aws, f"files/{aws.tenant}/{doomed}")  # its S3 object is gone
    assert _exists(aws, f"files/{aws.tenant}/{keep}")
    assert aws.api("files", "GET", "/v1/files/{file_id}", file_id=doomed).status == 404
    assert aws.api("files", "GET", "/v1/files/{file_id}", file_id=keep).status == 200
    assert aws.sql("SELECT count(*) FROM files WHERE id = %s", doomed) == [(0,)]
    assert aws.chunk_count(store_id, doomed) == 0
    assert aws.store(store_id)["file_counts"]["total"] == 0
    expired = aws.store(old_store)
    assert expired["status"] == "expired" and expired["file_counts"]["total"] == 0
    assert aws.chunk_count(old_store, keep) == 0

    # Nothing left to do on the next tick.
    assert invoke("maintenance", load_event("schedule.json")) == {
        "expired_files": 0,
        "expired_stores": 0,
        "resumed_ingests": 0,
    }


def test_schedule_re_enqueues_an_ingest_whose_worker_died_and_it_completes(aws):
    store_id = aws.create_store()
    file_id = aws.upload("orphan.txt", b"the worker that took this file was killed")
    aws.attach(store_id, file_id)
    # A worker took the message and died mid-job (Lambda timeout, crash): the message is gone
    # (deleted by a retry policy, or its delivery count spent) and the lease it held ran out.
    aws.receive_all()
    aws.sql(
        "UPDATE vector_store_files SET lease_token = 'dead-invocation', lease_expires_at = %s WHERE file_id = %s",
        int(time.time()) - 1,
        file_id,
    )
    assert aws.store_file(store_id, file_id)["status"] == "in_progress"

    assert invoke("maintenance", load_event("schedule.json"))["resumed_ingests"] == 1
    assert aws.drain_ingest_queue() == (1, {"batchItemFailures": []})
    assert aws.store_file(store_id, file_id)["status"] == "completed"
    assert aws.chunk_count(store_id, file_id) >= 1
    assert invoke("maintenance", load_event("schedule.json"))["resumed_ingests"] == 0
