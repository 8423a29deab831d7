"""The sample events in events/ are what API Gateway, SQS and EventBridge really send."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, EventBridgeEvent, SQSEvent
from lambda_harness import EVENTS, load_event

from vector_store_api.aws.messages import BulkIngestMessage, IngestFileMessage
from vector_store_api.services.auth import open_mode_tenant

HTTP_EVENTS = {
    "files.json": ("POST /v1/files", None),
    "health.json": ("GET /health", None),
    "vector_stores.json": ("POST /v1/vector_stores", None),
    "vector_store_files.json": ("POST /v1/vector_stores/{vector_store_id}/files", "vs_example"),
    "search.json": ("POST /v1/vector_stores/{vector_store_id}/search", "vs_example"),
    "organization.json": ("POST /v1/organization/projects", None),
    "responses.json": ("POST /v1/responses", None),
}
SQS_EVENTS = ("sqs_ingest.json", "sqs_bulk_ingest.json", "sqs_dlq.json")


def test_every_event_file_is_covered_here():
    assert {p.name for p in EVENTS.glob("*.json")} == {*HTTP_EVENTS, *SQS_EVENTS, "schedule.json"}


@pytest.mark.parametrize("name", sorted(HTTP_EVENTS))
def test_http_api_events_are_payload_format_2_0(name):
    raw = load_event(name)
    route_key, store_id = HTTP_EVENTS[name]
    event = APIGatewayProxyEventV2(raw)
    method, route = route_key.split(" ", 1)
    assert raw["version"] == "2.0" and "cookies" not in raw
    assert event.route_key == route_key == event.request_context.route_key
    assert event.request_context.stage == "$default"
    assert event.request_context.http.method == method
    assert event.raw_path == event.request_context.http.path == route.replace("{vector_store_id}", str(store_id))
    assert event.request_context.account_id and event.request_context.api_id and event.request_context.request_id
    assert event.request_context.domain_name.startswith(event.request_context.api_id + ".execute-api.")
    assert isinstance(event.request_context.time_epoch, int) and event.request_context.time
    assert event.request_context.http.source_ip and event.request_context.http.protocol == "HTTP/1.1"
    headers = event.headers
    assert headers["authorization"] == "Bearer sk-example"
    assert headers["user-agent"] == event.request_context.http.user_agent == "OpenAI/Python 3.52.0"
    assert headers["x-stainless-lang"] == "python" and headers["x-stainless-package-version"] == "3.52.0"
    assert all(key == key.lower() for key in headers)  # HTTP APIs lower-case header names
    assert (event.path_parameters or {}) == ({"vector_store_id": store_id} if store_id else {})
    if event.body is not None:
        assert int(headers["content-length"]) == len(
            event.decoded_body if event.is_base64_encoded else event.body.encode()
        )
        if not event.is_base64_encoded:
            assert headers["content-type"] == "application/json"
            json.loads(event.body)


def test_files_event_is_a_base64_multipart_upload_with_purpose_assistants():
    event = APIGatewayProxyEventV2(load_event("files.json"))
    assert event.is_base64_encoded
    content_type = event.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=", 1)[1]
    body = base64.b64decode(event.body)
    assert body.startswith(f"--{boundary}\r\n".encode()) and body.endswith(f"--{boundary}--\r\n".encode())
    assert b'name="purpose"\r\n\r\nassistants\r\n' in body
    assert b'name="file"; filename="handbook.txt"' in body and b"vacation" in body


def test_search_event_has_an_attribute_filter():
    body = json.loads(load_event("search.json")["body"])
    assert body["query"] and body["filters"] == {"type": "eq", "key": "team", "value": "hr"}
    attach = json.loads(load_event("vector_store_files.json")["body"])
    assert attach["file_id"] == "file-example" and attach["attributes"]["team"] == "hr"


@pytest.mark.parametrize("name", SQS_EVENTS)
def test_sqs_events_are_well_formed_records(name):
    event = SQSEvent(load_event(name))
    records = list(event.records)
    assert len(records) == 1
    record = records[0]
    assert record.event_source == "aws:sqs" and record.aws_region == "us-east-1"
    assert record.event_source_arn.startswith("arn:aws:sqs:us-east-1:123456789012:")
    assert record.md5_of_body == hashlib.md5(record.body.encode()).hexdigest()
    attributes = record.attributes
    assert int(attributes.approximate_receive_count) >= 1
    assert int(attributes.sent_timestamp) <= int(attributes.approximate_first_receive_timestamp)
    assert attributes.sender_id
    body = json.loads(record.body)
    assert body["version"] == 1
    assert body["tenant_id"] == open_mode_tenant("sk-example")  # the same tenant as the HTTP samples


def test_sqs_message_bodies_follow_the_contract():
    ingest = IngestFileMessage.model_validate_json(load_event("sqs_ingest.json")["Records"][0]["body"])
    assert (ingest.vector_store_id, ingest.file_id) == ("vs_example", "file-example")
    bulk = BulkIngestMessage.model_validate_json(load_event("sqs_bulk_ingest.json")["Records"][0]["body"])
    assert bulk.source.bucket and bulk.source.prefix and bulk.source.keys is None
    dead = SQSEvent(load_event("sqs_dlq.json"))
    record = next(iter(dead.records))
    IngestFileMessage.model_validate_json(record.body)
    assert record.event_source_arn.endswith("-dlq")
    assert record.message_attributes["reason"].string_value
    assert record.message_attributes["reason"].data_type == "String"


def test_schedule_event_is_an_eventbridge_scheduled_event():
    event = EventBridgeEvent(load_event("schedule.json"))
    assert event.detail_type == "Scheduled Event" and event.source == "aws.events"
    assert event.resources[0].startswith("arn:aws:events:us-east-1:123456789012:rule/")
    assert event.detail == {}
