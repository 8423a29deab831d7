"""The Responses function behind API Gateway: events/responses.json fed to its handler, with the
chat endpoint's key read from Secrets Manager and our deterministic chat server as the model."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from lambda_harness import REGION, call, http_event, load_event, reset_lambda_state
from tests.support.chat_server import ChatServer

pytest_plugins = ("aws_stack",)

CHAT_SECRET_ID = "vector-store-api/chat-completions"


@pytest.fixture
def chat():
    server = ChatServer().start()
    yield server
    server.stop()


@pytest.fixture
def stack(aws, chat, monkeypatch):
    key = "sk-upstream-" + uuid.uuid4().hex
    boto3.client("secretsmanager", region_name=REGION).create_secret(Name=CHAT_SECRET_ID, SecretString=key)
    monkeypatch.setenv("CHAT_COMPLETIONS_BASE_URL", chat.base_url)
    monkeypatch.setenv("CHAT_COMPLETIONS_API_KEY_SECRET_ID", CHAT_SECRET_ID)
    reset_lambda_state(monkeypatch)
    aws.chat_key = key
    return aws


def sample_event(aws, store_id: str, **changes) -> dict:
    """events/responses.json for this tenant and store, with `changes` to its body."""
    event = load_event("responses.json")
    event["headers"]["authorization"] = f"Bearer {aws.token}"
    body = json.loads(event["body"])
    body["tools"][0]["vector_store_ids"] = [store_id]
    body.update(changes)
    event["body"] = json.dumps(body)
    event["headers"]["content-length"] = str(len(event["body"]))
    return event


def indexed_store(aws) -> tuple[str, str]:
    store_id = aws.create_store()
    file_id = aws.upload("leave.txt", b"Parents get sixteen weeks of paid parental leave. Leave starts at birth.")
    aws.attach(store_id, file_id)
    assert aws.drain_ingest_queue()[0] == 1
    assert aws.store_file(store_id, file_id)["status"] == "completed"
    return store_id, file_id


def test_the_sample_event_answers_with_citations(stack, chat):
    store_id, file_id = indexed_store(stack)
    response = call("responses", sample_event(stack, store_id))
    assert response.status == 200, response
    body = response.json()
    assert [item["type"] for item in body["output"]] == ["file_search_call", "message"]
    assert body["output"][0]["results"][0]["file_id"] == file_id  # include: file_search_call.results
    text = body["output"][1]["content"][0]
    assert text["text"] == "Parents get sixteen weeks of paid parental leave."
    assert text["annotations"] == [{"type": "file_citation", "file_id": file_id, "filename": "leave.txt", "index": len(text["text"])}]
    assert chat.authorizations[-1] == f"Bearer {stack.chat_key}"  # the key came from Secrets Manager
    assert stack.chat_key not in response.raw["body"]

    stored = call(
        "responses",
        http_event("responses.json", "GET", "/v1/responses/{response_id}", token=stack.token, response_id=body["id"]),
    )
    assert stored.status == 200 and stored.json()["output"][0]["results"] is None  # no include on GET
    items = call(
        "responses",
        http_event(
            "responses.json", "GET", "/v1/responses/{response_id}/input_items", token=stack.token, response_id=body["id"]
        ),
    )
    assert [i["content"][0]["text"] for i in items.json()["data"]] == ["How many weeks of parental leave do we get?"]


def test_streaming_through_the_http_api_arrives_whole(stack):
    """API Gateway's HTTP API and a Python Lambda cannot stream a response: the events arrive in one
    body when the response is done; the SDK parses them all the same (README)."""
    store_id, _ = indexed_store(stack)
    response = call("responses", sample_event(stack, store_id, stream=True))
    assert response.status == 200, response
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(block.split("\ndata: ", 1)[1]) for block in response.content.decode().split("\n\n") if block]
    assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


def test_without_a_chat_endpoint_the_function_says_so(aws):
    store_id = aws.create_store()
    response = call("responses", sample_event(aws, store_id))
    assert response.status == 503 and response.headers["x-should-retry"] == "false"
    assert response.json()["error"]["code"] == "model_backend_unavailable"
