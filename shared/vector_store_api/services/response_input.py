"""The parts of a Responses request the models leave raw: `input`, `tool_choice`, `text`, and the
model's tool-call arguments. What is outside the subset is a 400 naming the exact param."""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidRequest, shown
from ..ids import MESSAGE_PREFIX, new_id
from ..models.responses import CreateResponseRequest, FileSearchTool
from ..models.search import MAX_QUERIES, MAX_QUERY_CHARS

MAX_MODEL_QUERIES = 5  # queries the model may ask for in one file_search call


def unsupported_parameter(name: str) -> InvalidRequest:
    return InvalidRequest(f"'{name}' is not supported by this server.", param=name, code="unsupported_parameter")


def unsupported_value(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, param=param, code="unsupported_value")


def tool_choice_of(request: CreateResponseRequest, tool: FileSearchTool | None) -> tuple[str | dict[str, Any], bool]:
    """The echoed tool_choice, and whether the first model turn must search."""
    choice = request.tool_choice
    if isinstance(choice, dict):
        if choice.get("type") != "file_search":
            raise unsupported_value(
                "Only 'none', 'auto', 'required' and {\"type\": \"file_search\"} are supported for tool_choice.",
                "tool_choice",
            )
        choice = {"type": "file_search"}
    forced = choice == "required" or isinstance(choice, dict)
    if forced and tool is None:
        raise InvalidRequest("tool_choice requires a file_search tool in 'tools'.", param="tool_choice", code="invalid_value")
    return choice, forced


def check_text_format(text: dict[str, Any] | None) -> None:
    fmt = (text or {}).get("format")
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if fmt is not None and kind != "text":
        raise unsupported_value(f"Text format '{shown(str(kind))}' is not supported; only 'text'.", "text.format.type")


_ROLES = {"user", "system", "developer", "assistant"}


def input_of(value: str | list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(chat messages, the input items as stored and listed) of a request's `input`."""
    if isinstance(value, str):
        if not value.strip():
            raise InvalidRequest("Invalid 'input': must not be empty.", param="input", code="invalid_value")
        value = [{"role": "user", "content": value}]
    if not value:
        raise InvalidRequest("Invalid 'input': must not be an empty list.", param="input", code="invalid_value")
    messages: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        kind = item.get("type", "message")
        if kind == "file_search_call":  # replayed from an earlier output: listed, never re-run
            if not isinstance(item.get("id"), str) or not isinstance(item.get("queries"), list):
                raise InvalidRequest(
                    f"Invalid 'input[{i}]': a file_search_call needs 'id' and 'queries'.",
                    param=f"input[{i}]",
                    code="invalid_value",
                )
            items.append({"status": "completed", "results": None, **item})
            continue
        if kind != "message":
            raise unsupported_value(f"Input item type '{shown(str(kind))}' is not supported.", f"input[{i}].type")
        role = item.get("role")
        if role not in _ROLES:
            raise InvalidRequest(
                f"Invalid 'input[{i}].role': expected one of user, system, developer, assistant.",
                param=f"input[{i}].role",
                code="invalid_value",
            )
        texts = content_texts(item.get("content"), i, assistant=role == "assistant")
        messages.append({"role": "system" if role == "developer" else role, "content": "\n".join(texts)})
        item_id = item.get("id") if isinstance(item.get("id"), str) else new_id(MESSAGE_PREFIX)
        if role == "assistant":
            content = [{"type": "output_text", "text": t, "annotations": [], "logprobs": []} for t in texts]
        else:
            content = [{"type": "input_text", "text": t} for t in texts]
        items.append({"id": item_id, "type": "message", "role": role, "status": "completed", "content": content})
    return messages, items


def content_texts(content: Any, i: int, *, assistant: bool) -> list[str]:
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list) or not content:
        raise InvalidRequest(
            f"Invalid 'input[{i}].content': expected a string or a list of content parts.",
            param=f"input[{i}].content",
            code="invalid_value",
        )
    texts = []
    allowed = {"input_text", "output_text"} if assistant else {"input_text"}
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in allowed or not isinstance(part.get("text"), str):
            raise unsupported_value(
                f"Content type '{shown(str(kind))}' is not supported; only {' and '.join(sorted(allowed))}.",
                f"input[{i}].content[{j}].type",
            )
        texts.append(part["text"])
    return texts


def model_queries(arguments: str) -> list[str]:
    """The model's `queries` (or OGX's `query`); arguments that are not JSON are one query."""
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        parsed = arguments
    raw: Any
    if isinstance(parsed, dict):
        raw = parsed.get("queries", parsed.get("query", []))
    else:
        raw = parsed
    values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    queries = [str(q)[:MAX_QUERY_CHARS] for q in values if str(q).strip()]
    return queries[: min(MAX_MODEL_QUERIES, MAX_QUERIES)]
