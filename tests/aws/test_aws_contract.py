"""The ingest message contract, the SQS producer, and secrets resolution (Secrets Manager / SSM)."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from lambda_harness import reset_lambda_state
from psycopg.conninfo import conninfo_to_dict
from pydantic import ValidationError

from vector_store_api.aws.messages import MESSAGE_VERSION, BulkIngestMessage, IngestFileMessage
from vector_store_api.aws.secrets import url_from_secret
from vector_store_api.models.vector_stores import MAX_BATCH_FILES
from vector_store_api.queue.base import IngestJob

pytest_plugins = ("aws_stack",)  # the `aws` fixture (no conftest.py here: see aws_stack)

INGEST = {"version": 1, "type": "ingest_file", "tenant_id": "tenant_x", "vector_store_id": "vs_1", "file_id": "file-1"}
BULK = {
    "version": 1,
    "type": "bulk_ingest",
    "tenant_id": "tenant_x",
    "vector_store_id": "vs_1",
    "source": {"bucket": "docs-bucket", "prefix": "handbooks/"},
}


def parse(body):
    from vector_store_api.aws.worker import parse_message

    return parse_message(body if isinstance(body, str) else json.dumps(body))


# ----------------------------------------------------------------------------- messages
def test_valid_messages_parse_to_their_types():
    assert MESSAGE_VERSION == 1
    assert isinstance(parse(INGEST), IngestFileMessage)
    bulk = parse(BULK)
    assert isinstance(bulk, BulkIngestMessage)
    assert bulk.purpose == "assistants" and bulk.idempotency_key is None and bulk.source.keys is None
    keys = parse({**BULK, "source": {"bucket": "docs-bucket", "keys": ["a.pdf", "b/c.docx"]}, "purpose": "user_data"})
    assert keys.source.keys == ["a.pdf", "b/c.docx"] and keys.purpose == "user_data"
    full = parse(
        {
            **BULK,
            "attributes": {"team": "hr", "year": 2026},
            "idempotency_key": "k1",
            "chunking_strategy": {
                "type": "static",
                "static": {"max_chunk_size_tokens": 400, "chunk_overlap_tokens": 100},
            },
        }
    )
    assert full.attributes == {"team": "hr", "year": 2026} and full.idempotency_key == "k1"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({**INGEST, "version": 2}, "version"),
        ({**INGEST, "version": "1"}, "version"),
        ({k: v for k, v in INGEST.items() if k != "version"}, "version"),
        ({**INGEST, "type": "unknown"}, "type"),
        ({k: v for k, v in INGEST.items() if k != "file_id"}, "file_id"),
        ({**INGEST, "file_id": 42}, "file_id"),
        ({**INGEST, "extra": True}, "extra"),
        ({**BULK, "version": 2}, "version"),
        ({**BULK, "source": {"bucket": "docs-bucket", "prefix": "a/", "keys": ["a/b.txt"]}}, "exactly one"),
        ({**BULK, "source": {"bucket": "docs-bucket"}}, "exactly one"),
        ({**BULK, "source": {"bucket": "docs-bucket", "keys": []}}, "keys"),
        ({**BULK, "source": {"bucket": "docs-bucket", "keys": [f"k{i}" for i in range(MAX_BATCH_FILES + 1)]}}, "keys"),
        ({**BULK, "source": {"bucket": "b", "prefix": "a/"}}, "bucket"),
        ({**BULK, "purpose": "fine-tune"}, "purpose"),
        ({**BULK, "attributes": {"nested": {"no": 1}}}, "attributes"),
        ("not json at all", "body"),
        ("[1, 2]", "body"),
        ("", "body"),
    ],
)
def test_malformed_messages_are_permanent_failures_naming_the_problem(body, expected):
    from vector_store_api.aws.worker import PermanentFailure

    with pytest.raises(PermanentFailure) as failure:
        parse(body)
    reason = str(failure.value)
    assert reason.startswith("malformed ingest message: ")
    assert expected in reason


def test_too_many_keys_is_rejected_by_the_model_itself():
    with pytest.raises(ValidationError):
        BulkIngestMessage.model_validate(
            {**BULK, "source": {"bucket": "docs-bucket", "keys": ["k"] * (MAX_BATCH_FILES + 1)}}
        )
    ok = BulkIngestMessage.model_validate(
        {**BULK, "source": {"bucket": "docs-bucket", "keys": ["k"] * MAX_BATCH_FILES}}
    )
    assert len(ok.source.keys) == MAX_BATCH_FILES


# -------------------------------------------------------------------------- SQS producer
class FakeSqs:
    def __init__(self, failures=()):
        self.calls: list[list[dict]] = []
        self._failures = list(failures)

    def send_message_batch(self, QueueUrl, Entries):  # noqa: N803 (boto3's casing)
        self.calls.append(Entries)
        return {"Failed": self._failures.pop(0)} if self._failures else {"Successful": []}


def test_sqs_queue_sends_versioned_messages_in_batches_of_ten():
    from vector_store_api.aws.sqs_queue import SqsIngestQueue

    client = FakeSqs()
    jobs = [IngestJob("tenant_x", "vs_1", f"file-{i}") for i in range(25)]
    SqsIngestQueue("https://sqs/q", client).enqueue(jobs)
    assert [len(call) for call in client.calls] == [10, 10, 5]
    bodies = [IngestFileMessage.model_validate_json(e["MessageBody"]) for call in client.calls for e in call]
    assert [b.file_id for b in bodies] == [j.file_id for j in jobs]
    assert all(len({e["Id"] for e in call}) == len(call) for call in client.calls)


def test_sqs_queue_retries_throttled_entries_and_refuses_sender_faults():
    from vector_store_api.aws.sqs_queue import SqsIngestQueue

    client = FakeSqs(failures=[[{"Id": "1", "SenderFault": False, "Code": "InternalError"}]])
    SqsIngestQueue("https://sqs/q", client).enqueue(
        [IngestJob("t", "vs_1", "file-a"), IngestJob("t", "vs_1", "file-b")]
    )
    assert [[e["Id"] for e in call] for call in client.calls] == [["0", "1"], ["1"]]

    client = FakeSqs(failures=[[{"Id": "0", "SenderFault": True, "Code": "InvalidParameterValue"}]])
    with pytest.raises(RuntimeError, match="rejected"):
        SqsIngestQueue("https://sqs/q", client).enqueue([IngestJob("t", "vs_1", "file-a")])


# ------------------------------------------------------------------------------ secrets
def test_url_from_secret_accepts_a_plain_url():
    assert (
        url_from_secret("  postgresql://app:pw@db.internal:5432/vectors\n")
        == "postgresql://app:pw@db.internal:5432/vectors"
    )


def test_url_from_secret_accepts_a_url_field():
    url = "postgresql://app:pw@db.internal/vectors?sslmode=verify-full"
    assert url_from_secret(json.dumps({"url": url, "note": "rotated monthly"})) == url


def test_url_from_secret_builds_an_encoded_url_from_an_rds_secret():
    password = "p@ss:w/rd#%?&= é+"
    secret = {
        "engine": "postgres",
        "username": "vector admin",
        "password": password,
        "host": "vectors.cluster-abc123.us-east-1.rds.amazonaws.com",
        "port": 6543,
        "dbname": "vectors",
        "dbClusterIdentifier": "vectors",
    }
    url = url_from_secret(json.dumps(secret))
    assert url == (
        f"postgresql://vector%20admin:{quote(password, safe='')}"
        "@vectors.cluster-abc123.us-east-1.rds.amazonaws.com:6543/vectors?sslmode=require"
    )
    assert "@" not in url.split("@", 1)[0].split(":", 1)[1]  # only the host separator is a literal @
    parsed = conninfo_to_dict(url)  # what psycopg will connect with
    assert parsed["user"] == "vector admin" and parsed["password"] == password
    assert parsed["host"] == secret["host"] and parsed["port"] == "6543" and parsed["dbname"] == "vectors"
    assert parsed["sslmode"] == "require"


def test_url_from_secret_defaults_port_and_database():
    url = url_from_secret(json.dumps({"username": "u", "password": "p", "host": "h"}))
    assert url == "postgresql://u:p@h:5432/postgres?sslmode=require"


# --------------------------------------------------------------------- secrets, on moto
def test_database_url_from_an_ssm_secure_string_parameter(aws, monkeypatch, pg_url):
    import boto3

    from vector_store_api.aws import secrets
    from vector_store_api.settings import get_settings

    boto3.client("ssm").put_parameter(Name="/vector-store-api/database-url", Value=pg_url, Type="SecureString")
    monkeypatch.delenv("DATABASE_SECRET_ID")
    monkeypatch.setenv("DATABASE_URL_PARAMETER", "/vector-store-api/database-url")
    reset_lambda_state(monkeypatch)
    assert secrets.database_url(get_settings()) == pg_url
    created = aws.api("vector_stores", "POST", "/v1/vector_stores", {"name": "via ssm"})
    assert created.status == 200, created
    assert aws.store(created.json()["id"])["name"] == "via ssm"


def test_rds_json_secret_and_openai_key_secret_are_resolved(aws, monkeypatch):
    import boto3

    from vector_store_api.aws.runtime import resolve_secrets
    from vector_store_api.settings import get_settings

    client = boto3.client("secretsmanager")
    client.create_secret(
        Name="rds!cluster-1234",
        SecretString=json.dumps({"username": "app", "password": "s3cr#t/1", "host": "db.example", "port": 5432}),
    )
    client.create_secret(Name="openai-json", SecretString=json.dumps({"api_key": "sk-proj-json"}))
    client.create_secret(Name="openai-plain", SecretString="sk-proj-plain\n")
    monkeypatch.setenv("DATABASE_SECRET_ID", "rds!cluster-1234")
    monkeypatch.setenv("OPENAI_API_KEY_SECRET_ID", "openai-json")
    reset_lambda_state(monkeypatch)
    settings = resolve_secrets(get_settings())
    assert (
        settings.database_url.get_secret_value()
        == "postgresql://app:s3cr%23t%2F1@db.example:5432/postgres?sslmode=require"
    )
    assert settings.openai_api_key.get_secret_value() == "sk-proj-json"

    monkeypatch.setenv("OPENAI_API_KEY_SECRET_ID", "openai-plain")
    reset_lambda_state(monkeypatch)
    assert resolve_secrets(get_settings()).openai_api_key.get_secret_value() == "sk-proj-plain"
