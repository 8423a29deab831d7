"""The deployed stack on moto, as pytest fixtures: `aws` (and `aws_env`).

Test modules load it with `pytest_plugins = ("aws_stack",)` (a plugin rather than a conftest.py in
tests/aws, which would take over the module name `conftest` from tests/conftest.py).

Every Lambda handler runs in-process against moto (S3, SQS + DLQ, DynamoDB, Secrets Manager, SSM)
and the real embedded PostgreSQL + pgvector (the session's `pg_url`).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from lambda_harness import (
    BUCKET,
    MAX_RECEIVE_COUNT,
    RATE_LIMIT_TABLE,
    REGION,
    SECRET_ID,
    TABLE,
    TEMPLATES,
    USAGE_TABLE,
    HttpResponse,
    call,
    http_event,
    invoke,
    multipart,
    record_from_message,
    reset_lambda_state,
    sqs_event,
)
from tests.support.db import execute


@dataclass
class AwsStack:
    s3: Any
    sqs: Any
    dynamodb: Any
    pg_url: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    token: str = field(default_factory=lambda: f"sk-test-{uuid.uuid4().hex}")

    @property
    def tenant(self) -> str:
        from vector_store_api.services.auth import open_mode_tenant

        return open_mode_tenant(self.token)

    # ----------------------------------------------------------------- HTTP handlers
    def api(
        self,
        function: str,
        method: str,
        route: str,
        body: Any = None,
        *,
        token: Any = "default",
        query: str = "",
        **path_params: str,
    ) -> HttpResponse:
        token = self.token if token == "default" else token
        event = http_event(TEMPLATES[function], method, route, token=token, body=body, query=query, **path_params)
        return call(function, event)

    def create_store(self, **body: Any) -> str:
        response = self.api("vector_stores", "POST", "/v1/vector_stores", {"name": "handbook", **body})
        assert response.status == 200, response
        return response.json()["id"]

    def upload(self, filename: str, data: bytes, **fields: str) -> str:
        payload, content_type = multipart({"purpose": "assistants", **fields}, filename, data)
        event = http_event("files.json", "POST", "/v1/files", token=self.token, body=payload, content_type=content_type)
        response = call("files", event)
        assert response.status == 200, response
        return response.json()["id"]

    def attach(self, store_id: str, file_id: str, attributes: dict | None = None) -> dict:
        body: dict = {"file_id": file_id}
        if attributes is not None:
            body["attributes"] = attributes
        response = self.api(
            "vector_store_files", "POST", "/v1/vector_stores/{vector_store_id}/files", body, vector_store_id=store_id
        )
        assert response.status == 200, response
        return response.json()

    def store_file(self, store_id: str, file_id: str) -> dict:
        response = self.api(
            "vector_store_files",
            "GET",
            "/v1/vector_stores/{vector_store_id}/files/{file_id}",
            vector_store_id=store_id,
            file_id=file_id,
        )
        assert response.status == 200, response
        return response.json()

    def store(self, store_id: str) -> dict:
        response = self.api("vector_stores", "GET", "/v1/vector_stores/{vector_store_id}", vector_store_id=store_id)
        assert response.status == 200, response
        return response.json()

    # ------------------------------------------------------------------------ queues
    def receive_all(self, queue_url: str | None = None) -> list[dict]:
        """Every visible message (ReceiveMessage returns at most 10 at a time)."""
        messages: list[dict] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=queue_url or self.queue_url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)

    def run_worker(self, *records: dict) -> dict:
        return invoke("ingest_worker", sqs_event(*records))

    def drain_ingest_queue(self) -> tuple[int, dict]:
        """Deliver every queued message to the worker, as the event source mapping would."""
        messages = self.receive_all()
        if not messages:
            return 0, {"batchItemFailures": []}
        return len(messages), self.run_worker(*(record_from_message(m, self.queue_arn) for m in messages))

    # ---------------------------------------------------------------------- database
    def sql(self, query: str, *params: Any) -> list[tuple]:
        rows = execute(self.pg_url, query, params)
        return rows if isinstance(rows, list) else []

    def chunk_count(self, store_id: str, file_id: str) -> int:
        return self.sql("SELECT count(*) FROM chunks WHERE vector_store_id = %s AND file_id = %s", store_id, file_id)[
            0
        ][0]


@pytest.fixture
def aws_env(monkeypatch):
    """Region, fake credentials and Powertools settings; nothing from the host's AWS config."""
    for name in (
        "DATABASE_URL",
        "DATABASE_SECRET_ID",
        "DATABASE_URL_PARAMETER",
        "OPENAI_API_KEY_SECRET_ID",
        "CHAT_COMPLETIONS_BASE_URL",
        "CHAT_COMPLETIONS_API_KEY",
        "CHAT_COMPLETIONS_API_KEY_SECRET_ID",
        "FILES_BUCKET",
        "INGEST_QUEUE_URL",
        "INGEST_DLQ_URL",
        "IDEMPOTENCY_TABLE",
        "RATE_LIMIT_TABLE",
        "USAGE_TABLE",
        "ADMIN_API_KEY",
        "ADMIN_API_KEY_SECRET_ID",
        "RATE_LIMIT_REQUESTS_PER_MINUTE",
        "STORE_WRITES_PER_MINUTE",
        "RATE_LIMIT_WINDOW_SECONDS",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "vector-store-api")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "VectorStoreApi")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("EMBEDDING_PROVIDER", "hash")
    monkeypatch.setenv("INGEST_MAX_RECEIVE_COUNT", str(MAX_RECEIVE_COUNT))
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "4")
    # Tests share tenants across many calls; test_aws_rate_limits.py lowers these.
    monkeypatch.setenv("RATE_LIMIT_REQUESTS_PER_MINUTE", "1000000")
    monkeypatch.setenv("STORE_WRITES_PER_MINUTE", "1000000")
    assert os.environ.get("TIKTOKEN_CACHE_DIR"), "tests/conftest.py points TIKTOKEN_CACHE_DIR at the shared cache"


@pytest.fixture
def aws(aws_env, monkeypatch, pg_url):
    """The deployed stack on moto: files bucket, ingest queue + DLQ (maxReceiveCount 3), idempotency,
    rate-limit and usage tables, and the database URL in Secrets Manager. Each test gets a fresh tenant (bearer token)."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        dlq_url = sqs.create_queue(QueueName="vector-store-api-ingest-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(
            QueueName="vector-store-api-ingest",
            Attributes={
                "VisibilityTimeout": "900",
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
                ),
            },
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.create_table(
            TableName=RATE_LIMIT_TABLE,
            KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.create_table(
            TableName=USAGE_TABLE,
            KeySchema=[{"AttributeName": "tenant_id", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "tenant_id", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("secretsmanager", region_name=REGION).create_secret(Name=SECRET_ID, SecretString=pg_url)

        monkeypatch.setenv("FILES_BUCKET", BUCKET)
        monkeypatch.setenv("INGEST_QUEUE_URL", queue_url)
        monkeypatch.setenv("INGEST_DLQ_URL", dlq_url)
        monkeypatch.setenv("IDEMPOTENCY_TABLE", TABLE)
        monkeypatch.setenv("RATE_LIMIT_TABLE", RATE_LIMIT_TABLE)
        monkeypatch.setenv("USAGE_TABLE", USAGE_TABLE)
        monkeypatch.setenv("DATABASE_SECRET_ID", SECRET_ID)
        reset_lambda_state(monkeypatch)
        try:
            yield AwsStack(s3, sqs, dynamodb, pg_url, queue_url, queue_arn, dlq_url, dlq_arn)
        finally:
            reset_lambda_state()
