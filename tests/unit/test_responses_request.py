"""The Responses request outside the subset: precise 400s before anything runs (no server needed)."""

from __future__ import annotations

import pytest

from vector_store_api.api.routes.responses import file_search_tool
from vector_store_api.errors import InvalidRequest
from vector_store_api.models.responses import CreateResponseRequest, ResponseObject
from vector_store_api.services.response_input import input_of, model_queries, tool_choice_of


def test_file_search_tool_defaults_are_filled():
    tool = file_search_tool([{"type": "file_search", "vector_store_ids": ["vs_a"]}])
    assert tool is not None
    assert tool.model_dump(mode="json") == {
        "type": "file_search",
        "vector_store_ids": ["vs_a"],
        "max_num_results": 10,
        "filters": None,
        "ranking_options": {"ranker": "auto", "score_threshold": 0.0, "hybrid_search": None},
    }
    assert file_search_tool([]) is None


@pytest.mark.parametrize(
    ("tools", "param", "code"),
    [
        ([{"type": "web_search"}], "tools[0].type", "unsupported_value"),
        ([{"type": "file_search", "vector_store_ids": ["vs_a"]}, {"type": "file_search", "vector_store_ids": ["vs_b"]}], "tools[1].type", "unsupported_value"),
        ([{"type": "file_search", "vector_store_ids": []}], "tools[0].vector_store_ids", "invalid_value"),
        ([{"type": "file_search"}], "tools[0].vector_store_ids", "missing_required_parameter"),
        ([{"type": "file_search", "vector_store_ids": ["vs_a"], "max_num_results": 0}], "tools[0].max_num_results", "invalid_value"),
        ([{"type": "file_search", "vector_store_ids": ["vs_a"], "ranking_options": {"ranker": "none"}}], "tools[0].ranking_options.ranker", "invalid_value"),
        ([{"type": "file_search", "vector_store_ids": ["vs_a"], "filters": {"type": "eq", "key": "k"}}], "tools[0].filters.value", "missing_required_parameter"),
        ([{"type": "file_search", "vector_store_ids": ["vs_a"], "extra": 1}], "tools[0].extra", "unknown_parameter"),
    ],
)
def test_bad_tools(tools, param, code):
    with pytest.raises(InvalidRequest) as caught:
        file_search_tool(tools)
    assert (caught.value.param, caught.value.code) == (param, code)


def test_input_string_and_messages_are_normalised():
    messages, items = input_of("Hello?")
    assert messages == [{"role": "user", "content": "Hello?"}]
    assert items[0]["type"] == "message" and items[0]["content"] == [{"type": "input_text", "text": "Hello?"}]
    assert items[0]["id"].startswith("msg_") and items[0]["status"] == "completed"
    messages, items = input_of(
        [
            {"role": "developer", "content": "Be brief."},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi", "annotations": []}]},
            {"type": "file_search_call", "id": "fs_1", "queries": ["q"], "status": "completed"},
        ]
    )
    assert messages == [{"role": "system", "content": "Be brief."}, {"role": "assistant", "content": "Hi"}]
    assert items[1]["content"][0]["type"] == "output_text" and items[2]["type"] == "file_search_call"


@pytest.mark.parametrize(
    ("value", "param"),
    [
        ("", "input"),
        ([], "input"),
        ([{"role": "tool", "content": "x"}], "input[0].role"),
        ([{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}], "input[0].content[0].type"),
        ([{"role": "user", "content": [{"type": "output_text", "text": "x"}]}], "input[0].content[0].type"),
        ([{"type": "reasoning", "summary": []}], "input[0].type"),
    ],
)
def test_bad_input(value, param):
    with pytest.raises(InvalidRequest) as caught:
        input_of(value)
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("arguments", "queries"),
    [
        ('{"queries": ["a", "b"]}', ["a", "b"]),
        ('{"query": "one"}', ["one"]),
        ("not json", ["not json"]),
        ('{"queries": ["", "  "]}', []),
        ('{"queries": ["1", "2", "3", "4", "5", "6"]}', ["1", "2", "3", "4", "5"]),
    ],
)
def test_model_arguments(arguments, queries):
    assert model_queries(arguments) == queries


def test_tool_choice_forms():
    tool = file_search_tool([{"type": "file_search", "vector_store_ids": ["vs_a"]}])
    request = CreateResponseRequest.model_validate({"model": "m", "input": "x", "tool_choice": {"type": "file_search"}})
    assert tool_choice_of(request, tool) == ({"type": "file_search"}, True)
    with pytest.raises(InvalidRequest) as caught:
        tool_choice_of(CreateResponseRequest.model_validate({"model": "m", "input": "x", "tool_choice": "required"}), None)
    assert caught.value.param == "tool_choice"


def test_results_are_hidden_unless_included():
    response = ResponseObject.model_validate(
        {
            "id": "resp_1", "created_at": 1, "status": "completed", "model": "m",
            "output": [{"id": "fs_1", "type": "file_search_call", "status": "completed", "queries": ["q"],
                        "results": [{"file_id": "file-1", "filename": "a", "score": 0.5, "text": "t"}]}],
        }
    )
    assert response.shown(False).output[0].results is None  # type: ignore[union-attr]
    assert response.shown(True).output[0].results  # type: ignore[union-attr]
    assert response.output[0].results  # the stored object keeps them  # type: ignore[union-attr]
