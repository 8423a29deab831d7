"""End to end: POST /v1/responses with the `file_search` tool through the official SDK (strict mode),
generation forwarded to our deterministic chat server (tests/support/chat_server.py), which calls
the tool on its first turn and then quotes the first two results with `[n]` markers.

The API server checks keys (ADMIN_API_KEY), so every test works in a fresh project; the hash
embedder is not semantic, so documents use distinct words per topic.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI
from tests.support.admin import admin_http, create_project_key, new_project
from tests.support.sdk import assert_error_body, attach_text_completed, make_client, wait_until
from tests.support.servers import ADMIN_API_KEY, ServerProcess, free_port, serve

UPSTREAM_KEY = "sk-upstream-" + uuid.uuid4().hex
VOLCANO = "Volcano lava flows down the crater. Ash clouds rise over the caldera after every eruption."
BAKERY = "The bakery kneads sourdough before dawn. Croissants proof overnight beside rye loaves."
ORCHARD = "The orchard yields apples and pears. Cherries ripen on pruned trees in early summer."


@pytest.fixture(scope="module")
def api(chat, tmp_path_factory) -> Iterator[ServerProcess]:
    yield from serve(
        tmp_path_factory.mktemp("server-responses"),
        ADMIN_API_KEY=ADMIN_API_KEY,
        CHAT_COMPLETIONS_BASE_URL=chat.base_url,
        CHAT_COMPLETIONS_API_KEY=UPSTREAM_KEY,
        CHAT_COMPLETIONS_TIMEOUT="1.5",
        USAGE_FLUSH_SECONDS="0.2",
    )


def project(api: ServerProcess, **key_fields: Any) -> tuple[str, OpenAI]:
    project_id, key = new_project(api, ADMIN_API_KEY, **key_fields)
    return project_id, make_client(api.base_url, key)


@pytest.fixture(scope="module")
def corpus(api) -> tuple[OpenAI, str, dict[str, str]]:
    """One project with a store of three topic files (attributes `topic`), and a second store."""
    _, client = project(api)
    store = client.vector_stores.create(name="topics")
    ids = {}
    for name, text in (("volcano", VOLCANO), ("bakery", BAKERY)):
        ids[name] = attach_text_completed(client, store.id, f"{name}.txt", text, attributes={"topic": name}).id
    other = client.vector_stores.create(name="garden")
    ids["orchard"] = attach_text_completed(client, other.id, "orchard.txt", ORCHARD, attributes={"topic": "orchard"}).id
    ids["other_store"] = other.id
    return client, store.id, ids


def file_search(store_ids: list[str], **fields: Any) -> dict[str, Any]:
    return {"type": "file_search", "vector_store_ids": store_ids, **fields}


def ask(client: OpenAI, question: str, store_ids: list[str], **kwargs: Any) -> Any:
    tool_fields = kwargs.pop("tool", {})
    model = kwargs.pop("model", "gpt-4.1-mini")
    return client.responses.create(model=model, input=question, tools=[file_search(store_ids, **tool_fields)], **kwargs)


def first_sentence(text: str) -> str:
    return text.split(". ")[0].rstrip(".") + "."


def unique(question: str) -> str:
    """A question no other test asks, so the chat server's requests can be picked out."""
    return f"{question} ({uuid.uuid4().hex[:8]})"


# -------------------------------------------------------------------------------- the answer
def test_quickstart_answer_cites_the_files_it_quotes(corpus, chat):
    client, store_id, ids = corpus
    question = unique("What flows down the volcano crater lava?")
    resp = ask(client, question, [store_id], tool={"max_num_results": 8}, include=["file_search_call.results"])
    assert resp.status == "completed" and resp.object == "response" and resp.id.startswith("resp_")
    assert [item.type for item in resp.output] == ["file_search_call", "message"]
    call, message = resp.output
    assert call.status == "completed" and call.queries == [question]
    assert call.results and call.results[0].file_id == ids["volcano"]
    assert call.results[0].filename == "volcano.txt" and call.results[0].attributes == {"topic": "volcano"}
    assert call.results[0].text == VOLCANO and 0 < call.results[0].score <= 1
    scores = [r.score for r in call.results]
    assert scores == sorted(scores, reverse=True)
    # The model quoted results 1 and 2, each followed by its marker; markers are gone from the text,
    # and each annotation's index is where its marker stood.
    quoted = [first_sentence(r.text) for r in call.results[:2]]
    assert quoted[0] == "Volcano lava flows down the crater."
    assert resp.output_text == " ".join(quoted)
    ends = [len(" ".join(quoted[: n + 1])) for n in range(len(quoted))]
    assert [(a.type, a.file_id, a.filename, a.index) for a in message.content[0].annotations] == [
        ("file_citation", r.file_id, r.filename, end) for r, end in zip(call.results[:2], ends, strict=True)
    ]
    assert resp.usage and resp.usage.input_tokens > 0 and resp.usage.output_tokens > 0
    assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens
    assert resp.tools[0].max_num_results == 8 and resp.tools[0].ranking_options.ranker == "auto"
    # What upstream got: the tool offered, then the numbered results as a tool message.
    first_call, second_call = chat.requests_for(question)
    assert first_call["model"] == "gpt-4.1-mini" and first_call["tools"][0]["function"]["name"] == "file_search"
    tool_message = second_call["messages"][-1]
    assert tool_message["role"] == "tool" and f"[1] volcano.txt ({ids['volcano']})" in tool_message["content"]


def test_results_only_with_include(corpus):
    client, store_id, _ = corpus
    resp = ask(client, "volcano ash caldera", [store_id])
    assert resp.output[0].type == "file_search_call" and resp.output[0].results is None
    assert resp.output[1].content[0].annotations  # citations do not depend on include
    again = client.responses.retrieve(resp.id, include=["file_search_call.results"])
    assert again.output[0].results and again.output[0].results[0].text


def test_request_options_are_forwarded_and_echoed(corpus, chat):
    client, store_id, _ = corpus
    question = unique("bakery sourdough")
    resp = ask(
        client, question, [store_id], instructions="Answer briefly.", temperature=0.2, top_p=0.9,
        max_output_tokens=64, metadata={"case": "options"}, user="u-1",
    )
    assert (resp.temperature, resp.top_p, resp.max_output_tokens) == (0.2, 0.9, 64)
    assert resp.instructions == "Answer briefly." and resp.metadata == {"case": "options"}
    upstream = chat.requests_for(question)[0]
    assert (upstream["temperature"], upstream["top_p"], upstream["max_tokens"], upstream["user"]) == (0.2, 0.9, 64, "u-1")
    assert upstream["messages"][0]["role"] == "system" and upstream["messages"][0]["content"].startswith("Answer briefly.")


# ------------------------------------------------------------------------------------ search
def test_filters_reach_the_search(corpus):
    client, store_id, ids = corpus
    resp = ask(
        client, "volcano crater bakery sourdough", [store_id], include=["file_search_call.results"],
        tool={"filters": {"type": "eq", "key": "topic", "value": "bakery"}},
    )
    assert {r.file_id for r in resp.output[0].results} == {ids["bakery"]}
    assert [a.file_id for a in resp.output[1].content[0].annotations] == [ids["bakery"]]


def test_ranking_options_reach_the_search(corpus):
    client, store_id, _ = corpus
    # No word of the query is in the files, so no chunk is in the BM25 list: hybrid scores stay <= 0.5.
    nothing = ask(
        client, "quasar nebula", [store_id], include=["file_search_call.results"],
        tool={"ranking_options": {"score_threshold": 0.9}},
    )
    assert nothing.output[0].status == "completed" and nothing.output[0].results == []
    assert nothing.output_text == "The files do not say." and nothing.output[1].content[0].annotations == []
    weighted = ask(
        client, "volcano crater", [store_id], include=["file_search_call.results"],
        tool={"max_num_results": 1, "ranking_options": {"hybrid_search": {"embedding_weight": 0.7, "text_weight": 0.3}}},
    )
    assert len(weighted.output[0].results) == 1
    assert weighted.tools[0].ranking_options.hybrid_search.embedding_weight == 0.7


def test_several_stores_are_merged_by_score(corpus):
    client, store_id, ids = corpus
    resp = ask(client, "orchard apples volcano crater", [store_id, ids["other_store"]], include=["file_search_call.results"])
    results = resp.output[0].results
    assert {ids["orchard"], ids["volcano"]} <= {r.file_id for r in results}
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_bad_filters_name_the_tool_param(corpus, api):
    client, store_id, _ = corpus
    with pytest.raises(openai.BadRequestError) as caught:
        ask(client, "x", [store_id], tool={"filters": {"type": "near", "key": "topic", "value": "x"}})
    assert caught.value.status_code == 400 and str(caught.value.param).startswith("tools[0].filters")
    with pytest.raises(openai.BadRequestError) as caught:
        ask(client, "x", [store_id], tool={"max_num_results": 51})
    assert caught.value.param == "tools[0].max_num_results"


# -------------------------------------------------------------------------------- streaming
def test_stream_helper_and_final_response(corpus):
    client, store_id, ids = corpus
    with client.responses.stream(
        model="gpt-4.1-mini", input="volcano lava crater", tools=[file_search([store_id])],
        include=["file_search_call.results"],
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:7] == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.file_search_call.in_progress", "response.file_search_call.searching",
        "response.file_search_call.completed", "response.output_item.done",
    ]
    assert kinds[-1] == "response.completed" and "response.output_text.annotation.added" in kinds
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == final.output_text and "[" not in deltas
    assert final.output[1].content[0].annotations[0].file_id == ids["volcano"]
    stored = client.responses.retrieve(final.id, include=["file_search_call.results"])
    assert stored.output_text == final.output_text and stored.status == "completed"
    assert stored.output[0].results == final.output[0].results


def test_raw_stream_is_sse(corpus, api):
    client, store_id, _ = corpus
    with httpx.Client(base_url=api.base_url, headers={"Authorization": f"Bearer {client.api_key}"}, timeout=30) as http:
        with http.stream(
            "POST", "/v1/responses",
            json={"model": "m", "input": "bakery croissants", "stream": True, "tools": [file_search([store_id])]},
        ) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            body = response.read().decode()
    blocks = [b for b in body.split("\n\n") if b]
    for block in blocks:
        event_line, data_line = block.split("\n")
        assert event_line.removeprefix("event: ") == json.loads(data_line.removeprefix("data: "))["type"]
    assert json.loads(blocks[-1].split("\n")[1][6:])["response"]["output"][0]["results"] is None


def test_stream_upstream_failure_ends_with_response_failed(corpus):
    client, store_id, _ = corpus
    with client.responses.stream(model="upstream-500", input="volcano", tools=[file_search([store_id])]) as stream:
        events = list(stream)
        with pytest.raises(RuntimeError):
            stream.get_final_response()
    failed = events[-1].response
    assert events[-1].type == "response.failed" and failed.status == "failed"
    assert failed.error.code == "server_error" and failed.output == []  # the first model call failed
    stored = client.responses.retrieve(failed.id)  # kept as failed, and not a usable previous response
    assert stored.status == "failed" and stored.error.message == failed.error.message
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="m", input="x", previous_response_id=failed.id)


def test_stream_request_errors_are_plain_http_errors(corpus):
    client, _, _ = corpus
    with pytest.raises(openai.NotFoundError):
        with client.responses.stream(model="m", input="x", tools=[file_search(["vs_missing"])]) as stream:
            list(stream)


def test_a_client_leaving_stops_the_models_stream(corpus, api, chat):
    client, store_id, _ = corpus
    body = {"model": "slow-stream", "input": "volcano", "stream": True, "tools": [file_search([store_id])]}
    before = chat.streams_abandoned
    started = time.monotonic()
    with httpx.Client(base_url=api.base_url, headers={"Authorization": f"Bearer {client.api_key}"}, timeout=30) as http:
        with http.stream("POST", "/v1/responses", json=body) as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and '"response.output_text.delta"' in line:
                    break  # the answer has begun streaming (it would take about a minute): leave
    wait_until(lambda: chat.streams_abandoned > before, timeout=10, what="the model's stream to be closed")
    assert time.monotonic() - started < 10


# ------------------------------------------------------------------- chaining and storage
def test_previous_response_id_continues_the_conversation(corpus, chat):
    client, store_id, _ = corpus
    first_question, second_question = unique("volcano crater"), unique("and the ash?")
    first = ask(client, first_question, [store_id], instructions="Speak like a geologist.")
    second = ask(client, second_question, [store_id], previous_response_id=first.id)
    assert second.previous_response_id == first.id and second.instructions is None
    messages = chat.requests_for(second_question)[0]["messages"]
    roles = [m["role"] for m in messages]
    assert first_question in json.dumps(messages) and first.output_text in json.dumps(messages)
    assert roles[-1] == "user" and "Speak like a geologist." not in json.dumps(messages)  # not inherited
    assert "[1]" not in [m for m in messages if m["role"] == "assistant" and m.get("content")][-1]["content"]


def test_retrieve_input_items_and_delete(corpus):
    client, store_id, _ = corpus
    resp = client.responses.create(
        model="m",
        input=[
            {"role": "developer", "content": "Be terse."},
            {"role": "user", "content": [{"type": "input_text", "text": "bakery"}, {"type": "input_text", "text": "rye"}]},
        ],
        tools=[file_search([store_id])],
    )
    assert client.responses.retrieve(resp.id).output_text == resp.output_text
    items = list(client.responses.input_items.list(resp.id, order="asc"))
    assert [(i.type, i.role) for i in items] == [("message", "developer"), ("message", "user")]
    assert items[1].content[1].text == "rye"
    newest_first = client.responses.input_items.list(resp.id, limit=1)
    assert newest_first.data[0].id == items[1].id and newest_first.has_more
    assert len(list(client.responses.input_items.list(resp.id, limit=1).iter_pages())) == 2
    assert client.responses.delete(resp.id) is None
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.retrieve(resp.id)
    assert "not found" in caught.value.message
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(resp.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.input_items.list(resp.id)


def test_store_false_is_not_kept(corpus):
    client, store_id, _ = corpus
    resp = ask(client, "volcano", [store_id], store=False)
    assert resp.status == "completed" and resp.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(resp.id)
    with pytest.raises(openai.NotFoundError) as caught:
        ask(client, "more", [store_id], previous_response_id=resp.id)
    assert caught.value.param == "previous_response_id"


def test_cancel_and_stream_on_retrieve_are_refused(corpus):
    client, store_id, _ = corpus
    resp = ask(client, "volcano", [store_id])
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(resp.id)
    with pytest.raises(openai.BadRequestError) as caught:
        with client.responses.stream(response_id=resp.id) as stream:
            list(stream)
    assert caught.value.param == "stream"


# ------------------------------------------------------------------------ tenants and scopes
def test_other_tenants_see_nothing(corpus, api):
    client, store_id, _ = corpus
    resp = ask(client, "volcano", [store_id])
    _, stranger = project(api)
    with pytest.raises(openai.NotFoundError):
        stranger.responses.retrieve(resp.id)
    with pytest.raises(openai.NotFoundError):
        stranger.responses.input_items.list(resp.id)
    with pytest.raises(openai.NotFoundError) as caught:
        ask(stranger, "volcano", [store_id])
    assert caught.value.param == "tools[0].vector_store_ids"
    with pytest.raises(openai.NotFoundError):
        stranger.responses.create(model="m", input="x", previous_response_id=resp.id)


def test_a_store_scoped_key_cannot_search_other_stores(api):
    project_id, client = project(api)
    allowed = client.vector_stores.create(name="allowed")
    hidden = client.vector_stores.create(name="hidden")
    attach_text_completed(client, hidden.id, "secret.txt", VOLCANO)
    scoped = create_project_key(api, ADMIN_API_KEY, project_id, name="scoped", role="read", vector_store_ids=[allowed.id])
    scoped_client = make_client(api.base_url, scoped["value"])
    assert ask(scoped_client, "volcano", [allowed.id]).status == "completed"
    with pytest.raises(openai.PermissionDeniedError) as caught:
        ask(scoped_client, "volcano", [allowed.id, hidden.id])
    assert caught.value.param == "tools[0].vector_store_ids"
    # An answer drawn from the hidden store is not the scoped key's to read or continue.
    unscoped = ask(client, "volcano", [hidden.id])
    with pytest.raises(openai.NotFoundError):
        scoped_client.responses.retrieve(unscoped.id)
    with pytest.raises(openai.NotFoundError):
        scoped_client.responses.create(model="m", input="more", previous_response_id=unscoped.id)
    assert client.responses.retrieve(unscoped.id).id == unscoped.id


# -------------------------------------------------------------------------------- the loop
def test_max_tool_calls_bounds_the_searches(corpus):
    client, store_id, _ = corpus
    resp = client.responses.create(model="loop", input="volcano", tools=[file_search([store_id])], max_tool_calls=2)
    searches = [item for item in resp.output if item.type == "file_search_call"]
    assert len(searches) == 2 and resp.status == "completed" and resp.output[-1].type == "message"
    single = client.responses.create(
        model="loop", input="volcano", tools=[file_search([store_id])], parallel_tool_calls=False, max_tool_calls=1
    )
    assert [item.type for item in single.output] == ["file_search_call", "message"]


def test_tool_choice(corpus, chat):
    client, store_id, _ = corpus
    none_question = unique("volcano")
    resp = ask(client, none_question, [store_id], tool_choice="none")
    assert [item.type for item in resp.output] == ["message"] and "tools" not in chat.requests_for(none_question)[0]
    forced_question = unique("volcano")
    ask(client, forced_question, [store_id], tool_choice={"type": "file_search"})
    assert chat.requests_for(forced_question)[0]["tool_choice"] == {"type": "function", "function": {"name": "file_search"}}
    with pytest.raises(openai.BadRequestError) as caught:
        ask(client, "x", [store_id], tool_choice={"type": "function", "name": "f"})
    assert caught.value.param == "tool_choice"


def test_a_model_without_tools_gets_one_search(corpus, chat):
    client, store_id, ids = corpus
    question = unique("volcano crater")
    resp = ask(client, question, [store_id], model="no-tools")
    assert [item.type for item in resp.output] == ["file_search_call", "message"]
    assert resp.output[0].queries == [question]
    assert resp.output[1].content[0].annotations[0].file_id == ids["volcano"]
    retried = chat.requests_for(question)[-1]
    assert "tools" not in retried and "file_search returned" in retried["messages"][1]["content"]


def test_finish_reason_length_is_incomplete(corpus):
    client, store_id, _ = corpus
    resp = ask(client, "volcano", [store_id], model="length")
    assert resp.status == "incomplete" and resp.incomplete_details.reason == "max_output_tokens"
    assert resp.output[-1].status == "incomplete"


# ---------------------------------------------------------------------------------- errors
def test_unknown_store_is_404(corpus):
    client, _, _ = corpus
    with pytest.raises(openai.NotFoundError) as caught:
        ask(client, "x", ["vs_does_not_exist"])
    assert caught.value.param == "tools[0].vector_store_ids" and "vs_does_not_exist" in caught.value.message


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"tools": [{"type": "web_search"}]}, "tools[0].type", "unsupported_value"),
        ({"tools": [{"type": "function", "name": "f", "parameters": {}}]}, "tools[0].type", "unsupported_value"),
        ({"background": True}, "background", "unsupported_parameter"),
        ({"conversation": "conv_1"}, "conversation", "unsupported_parameter"),
        ({"made_up": 1}, "made_up", "unknown_parameter"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]}, "input[0].content[0].type", "unsupported_value"),
        ({"input": [{"type": "function_call_output", "call_id": "c", "output": "x"}]}, "input[0].type", "unsupported_value"),
        ({"temperature": 3}, "temperature", "invalid_value"),
        ({"include": ["nonsense"]}, "include[0]", "invalid_value"),
        ({"text": {"format": {"type": "json_object"}}}, "text.format.type", "unsupported_value"),
        ({"model": None}, "model", "invalid_value"),
    ],
)
def test_outside_the_subset_is_a_clear_400(corpus, api, body, param, code):
    client, _, _ = corpus
    request = {"model": "m", "input": "hello", **body}
    with httpx.Client(base_url=api.base_url, headers={"Authorization": f"Bearer {client.api_key}"}, timeout=30) as http:
        response = http.post("/v1/responses", json=request)
    assert response.status_code == 400, response.text
    error = assert_error_body(response.json())
    assert (error["param"], error["code"]) == (param, code), error


def test_body_limit(corpus, api):
    client, _, _ = corpus
    with httpx.Client(base_url=api.base_url, headers={"Authorization": f"Bearer {client.api_key}"}, timeout=30) as http:
        response = http.post("/v1/responses", json={"model": "m", "input": "x" * (1024 * 1024 + 1)})
    assert response.status_code == 400 and response.json()["error"]["code"] == "request_too_large"


@pytest.mark.parametrize(
    ("model", "status", "error_class", "code"),
    [
        ("upstream-500", 502, openai.InternalServerError, "server_error"),
        ("slow", 504, openai.InternalServerError, "timeout"),
        ("missing-model", 404, openai.NotFoundError, "model_not_found"),
        ("rate-limited", 429, openai.RateLimitError, "rate_limit_exceeded"),
        ("bad-key", 502, openai.InternalServerError, "upstream_auth_failed"),
    ],
)
def test_upstream_errors_map_to_openai_errors(corpus, model, status, error_class, code):
    client, store_id, _ = corpus
    with pytest.raises(error_class) as caught:
        ask(client, "volcano", [store_id], model=model)
    assert caught.value.status_code == status and caught.value.code == code
    assert UPSTREAM_KEY not in caught.value.response.text
    if model == "rate-limited":
        assert caught.value.response.headers["retry-after"] == "7"


def test_the_upstream_key_never_reaches_logs_or_clients(api, chat):
    assert UPSTREAM_KEY not in api.log_tail(10_000_000)
    assert any(auth == f"Bearer {UPSTREAM_KEY}" for auth in chat.authorizations)  # it was used


# ---------------------------------------------------------------------------------- usage
def test_usage_counts_responses_tool_searches_and_tokens(api):
    project_id, client = project(api)
    one, two = client.vector_stores.create(name="one"), client.vector_stores.create(name="two")
    attach_text_completed(client, one.id, "v.txt", VOLCANO)
    resp = ask(client, "volcano", [one.id, two.id])

    def counted() -> dict[str, Any] | None:
        with admin_http(api, ADMIN_API_KEY) as http:
            page = http.get(
                "/usage/vector_stores",
                params={"start_time": int(time.time()) - 86_400, "project_ids[]": project_id, "group_by[]": "project_id"},
            ).json()
        results = [r for bucket in page["data"] for r in bucket["results"] if r.get("project_id") == project_id]
        return results[0] if results and results[0]["num_responses"] >= 1 else None

    result = wait_until(counted, timeout=10, what="usage counters")
    assert result["num_responses"] == 1 and result["num_tool_searches"] == 2
    assert result["num_upstream_input_tokens"] == resp.usage.input_tokens
    assert result["num_upstream_output_tokens"] == resp.usage.output_tokens
    assert result["requests_by_route"]["POST /v1/responses"] == 1
    metrics = httpx.get(api.base_url + "/metrics").text
    assert "vector_store_api_responses_total" in metrics and 'vector_store_api_upstream_tokens_total{kind="input"}' in metrics
    assert "vector_store_api_tool_searches_total" in metrics


# ------------------------------------------------------------------ servers without a model
@pytest.fixture(scope="module")
def unconfigured(tmp_path_factory) -> Iterator[ServerProcess]:
    yield from serve(tmp_path_factory.mktemp("server-no-chat"))


@pytest.fixture(scope="module")
def unreachable(tmp_path_factory) -> Iterator[ServerProcess]:
    """A chat endpoint and an embeddings endpoint nobody listens on (connection refused). The model
    is declared without tool calling, so a request with the tool searches (and meets the embeddings
    outage) before it calls the model."""
    yield from serve(
        tmp_path_factory.mktemp("server-chat-down"),
        CHAT_COMPLETIONS_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",
        CHAT_COMPLETIONS_SUPPORTS_TOOLS="false",
        EMBEDDING_PROVIDER="openai",
        EMBEDDING_MODEL="text-embedding-3-small",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",
    )


def test_no_model_backend_is_503_without_retry(unconfigured):
    client = make_client(unconfigured.base_url)
    with pytest.raises(openai.InternalServerError) as caught:
        client.responses.create(model="m", input="hello")
    assert caught.value.status_code == 503 and caught.value.code == "model_backend_unavailable"
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert "chat_completions" not in httpx.get(unconfigured.base_url + "/ready").json()["checks"]


def test_an_unreachable_model_is_503_with_retry_after(unreachable):
    client = make_client(unreachable.base_url)
    assert httpx.get(unreachable.base_url + "/ready").json()["checks"]["chat_completions"] == "ok"
    with pytest.raises(openai.InternalServerError) as caught:
        client.responses.create(model="m", input="hello")
    assert caught.value.status_code == 503 and caught.value.code == "service_unavailable"
    assert int(caught.value.response.headers["retry-after"]) >= 1
    ready = httpx.get(unreachable.base_url + "/ready")
    assert ready.status_code == 503 and ready.json()["checks"]["chat_completions"] == "unavailable"


def test_an_outage_behind_the_tools_search_is_503_not_500(unreachable):
    client = make_client(unreachable.base_url)
    store = client.vector_stores.create(name="cannot embed queries")
    with pytest.raises(openai.InternalServerError) as caught:
        client.responses.create(model="m", input="volcano", tools=[file_search([store.id])])
    assert caught.value.status_code == 503 and caught.value.code == "service_unavailable"
    assert "embeddings endpoint" in caught.value.message
    with client.responses.stream(model="m", input="volcano", tools=[file_search([store.id])]) as stream:
        events = list(stream)
    failed = events[-1].response
    assert events[-1].type == "response.failed" and failed.error.code == "vector_store_timeout"
    assert [(item.type, item.status) for item in failed.output] == [("file_search_call", "failed")]


# ----------------------------------------------------------------- the real local embedder
@pytest.fixture(scope="module")
def local_model_api(chat, tmp_path_factory) -> Iterator[ServerProcess]:
    from tests.support.paths import MODEL_DIR

    if not (MODEL_DIR / "model.onnx").is_file():
        pytest.skip(f"local embedding model not found at {MODEL_DIR}")
    yield from serve(
        tmp_path_factory.mktemp("server-responses-local"),
        EMBEDDING_PROVIDER="local",
        LOCAL_EMBEDDING_MODEL_DIR=str(MODEL_DIR),
        CHAT_COMPLETIONS_BASE_URL=chat.base_url,
    )


def test_quickstart_with_the_local_embedding_model(local_model_api):
    """The issue's snippet, on a semantic embedder: the question shares few words with the answer."""
    client = make_client(local_model_api.base_url)
    vs = client.vector_stores.create(name="handbook")
    for name, text in (
        ("leave.md", "Parents may take sixteen weeks of paid time off after a child is born or adopted."),
        ("travel.md", "Book flights through the travel portal. Economy class applies to trips under six hours."),
        ("it.md", "Laptops are replaced every three years. Report a lost device to the help desk at once."),
    ):
        attach_text_completed(client, vs.id, name, text)
    resp = client.responses.create(
        model="gpt-4.1-mini",
        input="How many weeks of parental leave do we get?",
        tools=[{"type": "file_search", "vector_store_ids": [vs.id], "max_num_results": 8}],
        include=["file_search_call.results"],
    )
    assert resp.output[0].results[0].filename == "leave.md"
    assert resp.output_text.startswith("Parents may take sixteen weeks of paid time off")
    assert resp.output[1].content[0].annotations[0].filename == "leave.md"
