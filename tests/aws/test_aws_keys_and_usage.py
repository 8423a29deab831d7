"""Keys, quotas and usage on Lambda: the bootstrap admin key from Secrets Manager, the organization
function, and usage counters written to DynamoDB (moto) at the end of each invocation."""

from __future__ import annotations

import calendar
import time
from datetime import datetime, timezone

import boto3
import pytest
from lambda_harness import BUCKET, REGION, USAGE_TABLE, call, http_event, multipart, reset_lambda_state

pytest_plugins = ("aws_stack",)  # the `aws` fixture (no conftest.py here: see aws_stack)

ADMIN_SECRET_ID = "vector-store-api/admin-api-key"
ADMIN_KEY = "sk-admin-from-secrets-manager-0123456789abcdef"


@pytest.fixture
def keyed(aws, monkeypatch):
    """The stack with key checking on: the bootstrap admin key lives in Secrets Manager."""
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=ADMIN_SECRET_ID, SecretString='{"api_key": "%s"}' % ADMIN_KEY
    )
    monkeypatch.setenv("ADMIN_API_KEY_SECRET_ID", ADMIN_SECRET_ID)
    reset_lambda_state(monkeypatch)
    yield aws
    # The session's database is shared: once any key exists, key checking is on for every later test.
    aws.sql("DELETE FROM api_keys")


def _project_key(aws, **fields) -> tuple[str, str]:
    project = aws.api("organization", "POST", "/v1/organization/projects", {"name": "team"}, token=ADMIN_KEY)
    assert project.status == 200, project
    project_id = project.json()["id"]
    key = aws.api(
        "organization", "POST", "/v1/organization/projects/{project_id}/api_keys", fields, token=ADMIN_KEY,
        project_id=project_id,
    )
    assert key.status == 200, key
    return project_id, key.json()["value"]


def _usage_items(aws, tenant: str) -> dict[str, dict]:
    items = aws.dynamodb.query(
        TableName=USAGE_TABLE,
        KeyConditionExpression="tenant_id = :t",
        ExpressionAttributeValues={":t": {"S": tenant}},
    )["Items"]
    return {i["sk"]["S"].split("#", 1)[1]: {k: v.get("N") for k, v in i.items()} for i in items}


def test_bootstrap_admin_key_from_secrets_manager(keyed):
    project_id, key = _project_key(keyed, role="write")
    assert key.startswith("sk-proj-")
    keyed.token = key
    store_id = keyed.create_store()
    assert keyed.store(store_id)["id"] == store_id

    assert keyed.api("files", "GET", "/v1/files", token="sk-test-anything").status == 401
    admin_on_data = keyed.api("vector_stores", "GET", "/v1/vector_stores", token=ADMIN_KEY)
    assert admin_on_data.status == 403
    not_admin = keyed.api("organization", "GET", "/v1/organization/projects", token=key)
    assert not_admin.status == 403
    rows = keyed.sql("SELECT tenant_id FROM vector_stores WHERE id = %s", store_id)
    assert rows == [(project_id,)]  # the project is the tenant


def test_quota_on_lambda(keyed):
    project_id, key = _project_key(keyed)
    quotas = keyed.api(
        "organization", "POST", "/v1/organization/projects/{project_id}/quotas", {"max_files": 1}, token=ADMIN_KEY,
        project_id=project_id,
    )
    assert quotas.status == 200 and quotas.json()["max_files"] == 1
    keyed.token = key
    keyed.upload("a.txt", b"first")
    payload, content_type = multipart({"purpose": "assistants"}, "b.txt", b"second")
    event = http_event("files.json", "POST", "/v1/files", token=key, body=payload, content_type=content_type)
    over = call("files", event)
    assert over.status == 429 and over.json()["error"]["code"] == "insufficient_quota"
    assert over.headers["x-should-retry"] == "false"
    objects = keyed.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"files/{project_id}/")
    assert objects["KeyCount"] == 1  # the rejected upload left nothing in S3


def test_usage_counters_are_written_to_dynamodb_per_invocation(keyed):
    project_id, key = _project_key(keyed)
    keyed.token = key
    store_id = keyed.create_store()
    assert _usage_items(keyed, project_id)[""]["requests"] == "1"  # flushed at the end of that invocation

    file_id = keyed.upload("doc.txt", b"usage on lambda is counted in dynamodb")
    keyed.attach(store_id, file_id)
    delivered, result = keyed.drain_ingest_queue()
    assert delivered == 1 and result == {"batchItemFailures": []}
    for _ in range(2):
        searched = keyed.api(
            "search", "POST", "/v1/vector_stores/{vector_store_id}/search", {"query": "usage"}, vector_store_id=store_id
        )
        assert searched.status == 200

    items = _usage_items(keyed, project_id)
    total, per_store = items[""], items[store_id]
    assert total["requests"] == "5" and total["searches"] == "2" and total["files_uploaded"] == "1"
    assert total["files_ingested"] == "1" and total["chunks_embedded"] == "1"  # written by the worker
    assert per_store["searches"] == "2" and per_store["bytes_ingested"] == str(keyed.store(store_id)["usage_bytes"])
    assert int(total["expires_at"]) > time.time() + 300 * 86_400  # USAGE_RETENTION_DAYS (400) after today

    today = calendar.timegm(datetime.now(timezone.utc).date().timetuple())
    usage = keyed.api(
        "organization", "GET", "/v1/organization/usage/vector_stores", token=ADMIN_KEY,
        query=f"start_time={today}&project_ids[]={project_id}&group_by[]=vector_store_id",
    )
    assert usage.status == 200, usage
    [result] = usage.json()["data"][0]["results"]
    assert result["vector_store_id"] == store_id and result["num_searches"] == 2 and result["num_files_ingested"] == 1


def test_a_failing_usage_table_never_fails_a_request(keyed, caplog):
    project_id, key = _project_key(keyed)
    keyed.dynamodb.delete_table(TableName=USAGE_TABLE)
    keyed.token = key
    store_id = keyed.create_store()  # would raise on a failed counter write
    assert keyed.store(store_id)["id"] == store_id
    assert "usage counters not written" in caplog.text
