"""End to end: the bounds on what one request can make the server do (README, "Limits"), and OpenAI's
strict typing of request fields. Each is a 400 naming the limit, before any expensive work."""

from __future__ import annotations

import json

import openai
import pytest
from tests.support.sdk import assert_error_body

from vector_store_api.api.deps import MAX_BATCH_JSON_BYTES, MAX_JSON_BYTES
from vector_store_api.models.common import MAX_NAME_CHARS
from vector_store_api.models.search import (
    MAX_FILTER_COMPARISONS,
    MAX_FILTER_DEPTH,
    MAX_FILTER_VALUES,
    MAX_QUERIES,
    MAX_QUERY_CHARS,
)


def refused(call) -> dict:
    with pytest.raises(openai.BadRequestError) as info:
        call()
    assert_error_body({"error": info.value.body})
    return info.value.body


@pytest.fixture
def store(client):
    return client.vector_stores.create(name="bounds")


def nested(depth: int) -> dict:
    node: dict = {"type": "eq", "key": "a", "value": 1}
    for _ in range(depth - 1):
        node = {"type": "and", "filters": [node]}
    return node


def test_query_longer_than_the_limit(client, store):
    body = refused(lambda: client.vector_stores.search(store.id, query="x" * (MAX_QUERY_CHARS + 1)))
    assert body["param"] == "query" and str(MAX_QUERY_CHARS) in body["message"], body
    assert client.vector_stores.search(store.id, query="x" * MAX_QUERY_CHARS).data == []


def test_a_one_megabyte_query_is_refused_without_embedding_it(client, store):
    body = refused(lambda: client.vector_stores.search(store.id, query="word " * 200_000))
    assert body["param"] == "query", body
    # The server is free at once: the next search answers normally.
    assert client.vector_stores.search(store.id, query="word").data == []


def test_too_many_queries(client, store):
    body = refused(lambda: client.vector_stores.search(store.id, query=["q"] * (MAX_QUERIES + 1)))
    assert body["param"] == "query" and str(MAX_QUERIES) in body["message"], body
    assert client.vector_stores.search(store.id, query=["q"] * MAX_QUERIES).data == []


def test_filter_nested_deeper_than_the_limit(client, store):
    body = refused(lambda: client.vector_stores.search(store.id, query="q", filters=nested(MAX_FILTER_DEPTH + 1)))
    assert body["param"] == "filters" and f"at most {MAX_FILTER_DEPTH} levels" in body["message"], body
    assert client.vector_stores.search(store.id, query="q", filters=nested(MAX_FILTER_DEPTH)).data == []


def test_filter_with_too_many_comparisons(client, store):
    comparisons = [{"type": "eq", "key": f"k{i}", "value": i} for i in range(MAX_FILTER_COMPARISONS + 1)]
    body = refused(
        lambda: client.vector_stores.search(store.id, query="q", filters={"type": "or", "filters": comparisons})
    )
    assert body["param"] == "filters" and str(MAX_FILTER_COMPARISONS) in body["message"], body
    ok = {"type": "or", "filters": comparisons[:-1]}
    assert client.vector_stores.search(store.id, query="q", filters=ok).data == []


def test_filter_list_with_too_many_values(client, store):
    values = list(range(MAX_FILTER_VALUES + 1))
    body = refused(
        lambda: client.vector_stores.search(store.id, query="q", filters={"type": "in", "key": "n", "value": values})
    )
    assert body["param"] and body["param"].startswith("filters"), body
    assert str(MAX_FILTER_VALUES) in body["message"], body


def test_a_filter_nested_100_deep_names_the_limit_not_the_json(http, client, store):
    response = http.post(f"/v1/vector_stores/{store.id}/search", json={"query": "q", "filters": nested(100)})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "could not parse" not in error["message"], error
    assert "nested" in error["message"], error


def test_json_nested_beyond_the_parser_limit(http, store):
    deep = '{"query": ' + "[" * 300 + "]" * 300 + "}"
    response = http.post(
        f"/v1/vector_stores/{store.id}/search", content=deep, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "json_too_deep" and "200 levels" in error["message"], error


def test_store_name_longer_than_the_limit(client):
    body = refused(lambda: client.vector_stores.create(name="n" * (MAX_NAME_CHARS + 1)))
    assert body["param"] == "name" and str(MAX_NAME_CHARS) in body["message"], body
    store = client.vector_stores.create(name="n" * MAX_NAME_CHARS)
    body = refused(lambda: client.vector_stores.update(store.id, name="n" * (MAX_NAME_CHARS + 1)))
    assert body["param"] == "name", body
    assert client.vector_stores.retrieve(store.id).name == "n" * MAX_NAME_CHARS


def test_json_body_larger_than_the_route_accepts(http, client):
    big = json.dumps({"name": "x", "metadata": {"k": "v" * (MAX_JSON_BYTES + 1)}})
    response = http.post("/v1/vector_stores", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "request_too_large" and "1 MiB" in error["message"], error
    assert client.vector_stores.list().data == []  # nothing was created


def test_body_size_is_checked_while_streaming_without_content_length(http, store):
    def chunks():
        yield b'{"query": "'
        for _ in range(MAX_BATCH_JSON_BYTES // 65536 + 2):  # past every route's limit
            yield b"x" * 65536
        yield b'"}'

    response = http.post(
        f"/v1/vector_stores/{store.id}/search", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "request_too_large"


# ------------------------------------------------------------------ strict types, as OpenAI's schema


@pytest.mark.parametrize(
    "field, value",
    [("max_num_results", "10"), ("max_num_results", True), ("max_num_results", 10.0), ("rewrite_query", 1)],
)
def test_search_fields_are_not_coerced(http, store, field, value):
    response = http.post(f"/v1/vector_stores/{store.id}/search", json={"query": "q", field: value})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == field


@pytest.mark.parametrize("value", ["7", True])
def test_store_expiry_days_are_not_coerced(http, value):
    response = http.post("/v1/vector_stores", json={"expires_after": {"anchor": "last_active_at", "days": value}})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "expires_after.days"


def test_long_ids_are_not_echoed_whole(client):
    long_id = "vs_" + "a" * 10_000
    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.retrieve(long_id)
    assert len(info.value.body["message"]) < 200, info.value.body
    with pytest.raises(openai.BadRequestError) as bad:
        client.vector_stores.retrieve("x" * 10_000)
    assert len(bad.value.body["message"]) < 200, bad.value.body
