"""/v1/responses: answers over the caller's vector stores (the `file_search` tool)."""

from __future__ import annotations

import json
from typing import Any, Iterator

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError

from ...errors import InvalidRequest
from ...models.responses import CreateResponseRequest, DeletedResponse, FileSearchTool, ResponseItemList, ResponseObject
from ..deps import JsonBody, NewestFirstPage, ReaderDep, ServicesDep, rate_limit, reader
from ..errors import validation_error
from ..openapi import COMMON_ERRORS, NOT_FOUND, error_responses
from ..responses import respond

router = APIRouter(
    prefix="/v1/responses",
    tags=["responses"],
    dependencies=[Depends(reader), Depends(rate_limit)],
    responses=COMMON_ERRORS,
)
# `stream: true` answers server-sent events; the model endpoint's failures are 502s (and 504s).
CREATED = {
    200: {"content": {"text/event-stream": {"schema": {"type": "string", "description": "Response stream events"}}}},
    **error_responses(404, 502),
}

# The SDK sends list query parameters in bracket form (`include[]=...`); plain repeats work too.
Include = Query(default_factory=list, alias="include[]")


def file_search_tool(tools: list[dict[str, Any]]) -> FileSearchTool | None:
    """The one `file_search` tool, validated; any other tool type is refused, naming it."""
    tool: FileSearchTool | None = None
    for i, raw in enumerate(tools):
        kind = raw.get("type")
        if kind != "file_search":
            raise InvalidRequest(
                f"Tool type '{str(kind)[:64]}' is not supported; only 'file_search'.",
                param=f"tools[{i}].type",
                code="unsupported_value",
            )
        if tool is not None:
            raise InvalidRequest(
                "Only one file_search tool is supported.", param=f"tools[{i}].type", code="unsupported_value"
            )
        try:
            tool = FileSearchTool.model_validate(raw)
        except ValidationError as error:
            errors = [{**e, "loc": ("tools", i, *e["loc"])} for e in error.errors(include_url=False)]
            raise validation_error(errors, in_request_part=False) from None
    return tool


def _sse(events: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    for event in events:
        yield f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()


@router.post("", response_model=ResponseObject, responses=CREATED)
def create_response(
    *,
    body: CreateResponseRequest = Depends(JsonBody(CreateResponseRequest)),
    caller: ReaderDep,
    svc: ServicesDep,
) -> Response:
    tool = file_search_tool(body.tools)
    if body.stream:
        run = svc.responses.prepare(caller, body, tool)  # every request error before the stream starts
        return StreamingResponse(
            _sse(svc.responses.run(run)),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )
    return respond(svc.responses.create(caller, body, tool))


@router.get("/{response_id}", response_model=ResponseObject, responses=NOT_FOUND)
def retrieve_response(
    *,
    response_id: str,
    request: Request,
    include: list[str] = Include,
    caller: ReaderDep,
    svc: ServicesDep,
) -> Response:
    if "stream" in request.query_params:
        raise InvalidRequest(
            "'stream' is not supported on retrieve: responses here are never background responses.",
            param="stream",
            code="unsupported_parameter",
        )
    include = include or request.query_params.getlist("include")
    return respond(svc.responses.retrieve(caller, response_id, include))


@router.delete("/{response_id}", response_model=DeletedResponse, responses=NOT_FOUND)
def delete_response(*, response_id: str, caller: ReaderDep, svc: ServicesDep) -> Response:
    return respond(DeletedResponse(id=svc.responses.delete(caller, response_id)))


@router.post("/{response_id}/cancel", response_model=ResponseObject, responses=NOT_FOUND)
def cancel_response(*, response_id: str, caller: ReaderDep, svc: ServicesDep) -> Response:
    svc.responses.cancel(caller, response_id)  # always raises: no background responses here
    raise AssertionError("unreachable")


@router.get("/{response_id}/input_items", response_model=ResponseItemList, responses=NOT_FOUND)
def list_input_items(
    *,
    response_id: str,
    request: Request,
    page: NewestFirstPage,
    include: list[str] = Include,
    caller: ReaderDep,
    svc: ServicesDep,
) -> Response:
    include = include or request.query_params.getlist("include")
    found = svc.responses.input_items(caller, response_id, page, include)
    items = found.items  # stored item dicts, already in the SDK's ResponseItem shapes
    first, last = (items[0]["id"], items[-1]["id"]) if items else (None, None)
    return respond(ResponseItemList(data=items, first_id=first, last_id=last, has_more=found.has_more))
