"""Responses with the `file_search` tool: retrieval-augmented answers over a tenant's vector stores.

`prepare` checks a request completely (fields, stores, scopes, the previous response, the model)
before anything is produced, so every such error is a plain HTTP error, streaming or not. `run`
then yields the stream events of one response (docs/responses-file-search.md §3); a non-streaming
call consumes them and returns the final object. The model is offered `file_search` as a
function (every model call streams); each call runs the search service over the tool's stores and
the numbered results go back as a tool message; the answer's `[n]` markers become `file_citation`
annotations as it streams (response_run.py, citations.py). The raw request parts are read by
response_input.py.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Generator, Iterator, Literal

from ..catalog.ports import ResponseRecords
from ..catalog.responses import StoredResponse
from ..chat.base import ChatBackend, ChatReply, ToolsRefused
from ..errors import (
    APIError,
    BadGateway,
    DependencyDown,
    GatewayTimeout,
    InvalidRequest,
    ModelBackendUnavailable,
    NotFound,
    PermissionDenied,
    RateLimited,
    shown,
)
from ..ids import FILE_SEARCH_CALL_PREFIX, RESPONSE_PREFIX, VECTOR_STORE_PREFIX, new_id, now
from ..models.common import Page, PageRequest
from ..models.responses import (
    RESULTS_INCLUDE,
    UNSUPPORTED_PARAMETERS,
    CreateResponseRequest,
    FileSearchCall,
    FileSearchResult,
    FileSearchTool,
    OutputMessage,
    ResponseError,
    ResponseObject,
    TextConfig,
)
from ..models.search import RankingOptions, SearchRequest
from ..request_budget import ClientDisconnected, checkpoint, current_budget
from ..usage.recorder import UsageRecorder
from .citations import Source
from .principal import Principal
from .response_input import (
    MAX_MODEL_QUERIES,
    check_text_format,
    input_of,
    model_queries,
    tool_choice_of,
    unsupported_parameter,
)
from .response_run import AnswerStream, Event, ResponseRun
from .search import SearchService
from .vector_stores import VectorStoreService

log = logging.getLogger(__name__)

MAX_ITERATIONS = 5  # model turns per response; the last one is offered no tools
FALLBACK_QUERY_CHARS = 1000
TOOL_NAME = "file_search"
CITE_INSTRUCTION = (
    "Answer from the results of the file_search tool. Cite a result by writing its number in brackets, "
    "e.g. [1], right after the sentence it supports. If the results do not answer the question, say so."
)
SKIPPED = "Tool call skipped: maximum tool calls reached."
FILE_SEARCH_FUNCTION: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "description": "Search the user's uploaded files. Call it before answering questions about their content.",
        "parameters": {
            "type": "object",
            "properties": {
                "queries": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "maxItems": MAX_MODEL_QUERIES,
                    "description": "One to five standalone search queries.",
                }
            },
            "required": ["queries"],
        },
    },
}


@dataclass(frozen=True)
class ResponsesConfig:
    max_tool_calls: int = 3
    time_budget_seconds: float = 300.0
    call_timeout_seconds: float = 120.0
    supports_tools: bool = True
    allowed_models: frozenset[str] = frozenset()  # empty: any
    default_model: str | None = None


class ResponsesService:
    def __init__(
        self,
        catalog: ResponseRecords,
        stores: VectorStoreService,
        search: SearchService,
        chat: ChatBackend | None,
        usage: UsageRecorder,
        config: ResponsesConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._catalog = catalog
        self._stores = stores
        self._search = search
        self._chat = chat
        self._usage = usage
        self._config = config
        self._clock = clock

    # ------------------------------------------------------------------ checks before any output
    def prepare(self, caller: Principal, request: CreateResponseRequest, tool: FileSearchTool | None) -> ResponseRun:
        tenant_id: str = caller.project_id  # type: ignore[assignment]  # project keys always have one
        for name in UNSUPPORTED_PARAMETERS:
            if getattr(request, name) is not None:
                raise unsupported_parameter(name)
        if request.background:
            raise unsupported_parameter("background")
        tool_choice, force = tool_choice_of(request, tool)
        check_text_format(request.text)
        conversation, input_items = input_of(request.input)
        if tool is not None:
            self._check_stores(tenant_id, caller, tool)
        history: list[dict[str, Any]] = []
        if request.previous_response_id is not None:
            history = self._previous(caller, request.previous_response_id)
        if self._chat is None:
            raise ModelBackendUnavailable("No chat completions backend is configured.")
        upstream_model = self._upstream_model(request.model)
        store = request.store is not False
        system = "\n\n".join(part for part in (request.instructions, CITE_INSTRUCTION if tool else None) if part)
        response = ResponseObject(
            id=new_id(RESPONSE_PREFIX),
            created_at=now(),
            status="in_progress",
            instructions=request.instructions,
            max_output_tokens=request.max_output_tokens,
            max_tool_calls=request.max_tool_calls,
            model=request.model,
            parallel_tool_calls=request.parallel_tool_calls is not False,
            previous_response_id=request.previous_response_id,
            safety_identifier=request.safety_identifier,
            store=store,
            temperature=request.temperature if request.temperature is not None else 1.0,
            text=TextConfig(verbosity=str((request.text or {}).get("verbosity") or "medium")),
            tool_choice=tool_choice,
            tools=[tool.model_dump(mode="json")] if tool else [],
            top_p=request.top_p if request.top_p is not None else 1.0,
            truncation=request.truncation or "disabled",
            user=request.user,
            metadata=request.metadata or {},
        )
        max_searches = min(request.max_tool_calls or self._config.max_tool_calls, self._config.max_tool_calls)
        return ResponseRun(
            tenant_id=tenant_id,
            request=request,
            tool=tool,
            upstream_model=upstream_model,
            system=system or None,
            conversation=[*history, *conversation],
            input_items=input_items,
            include_results=RESULTS_INCLUDE in (request.include or []),
            store=store,
            response=response,
            max_searches=max_searches if tool else 0,
            force_search=force,
        )

    def _upstream_model(self, model: str) -> str:
        allowed = self._config.allowed_models
        if not allowed or model in allowed:
            return model
        if self._config.default_model:
            return self._config.default_model
        raise NotFound(f"The model '{shown(model)}' does not exist.", param="model", code="model_not_found")

    def _check_stores(self, tenant_id: str, caller: Principal, tool: FileSearchTool) -> None:
        param = "tools[0].vector_store_ids"
        for store_id in tool.vector_store_ids:
            if not store_id.startswith(VECTOR_STORE_PREFIX) or not caller.may_use_store(store_id):
                if store_id.startswith(VECTOR_STORE_PREFIX):
                    raise PermissionDenied(
                        f"This API key is not allowed to use vector store {shown(store_id)}.",
                        param=param,
                        code="insufficient_permissions",
                    )
                raise NotFound(f"Vector store with id '{shown(store_id)}' not found.", param=param)
            try:
                self._stores.store_config(tenant_id, store_id, usable=True)
            except NotFound:
                raise NotFound(f"Vector store with id '{shown(store_id)}' not found.", param=param) from None

    def _previous(self, caller: Principal, response_id: str) -> list[dict[str, Any]]:
        stored = self._visible(caller, response_id)
        if stored is None or stored.response.get("status") not in ("completed", "incomplete"):
            raise NotFound(
                f"Previous response with id '{shown(response_id)}' not found.", param="previous_response_id"
            )
        return stored.messages

    # ------------------------------------------------------------------------------- generation
    def create(self, caller: Principal, request: CreateResponseRequest, tool: FileSearchTool | None) -> ResponseObject:
        """Non-streaming: the final Response, or the HTTP error that stopped it (stored as failed)."""
        run = self.prepare(caller, request, tool)
        for _ in self.run(run):
            pass
        if run.error is not None:
            raise run.error
        return run.response.shown(run.include_results)

    def run(self, run: ResponseRun) -> Iterator[Event]:
        """The stream events of one response; the last is response.completed, .incomplete or .failed."""
        yield run.event("response.created", response=run.snapshot())
        yield run.event("response.in_progress", response=run.snapshot())
        deadline = self._clock() + self._config.time_budget_seconds
        try:
            yield from self._generate(run, deadline)
        except (APIError, DependencyDown, ToolsRefused, ClientDisconnected) as error:
            run.error = error if not isinstance(error, ToolsRefused) else BadGateway(str(error))
        except Exception as error:  # a defect: the stream still ends with its terminal event
            log.exception("response %s failed", run.response.id)
            run.error = error
        response = run.response
        response.usage = run.usage
        if run.error is None:
            response.status = "incomplete" if response.incomplete_details else "completed"
            response.completed_at = now() if response.status == "completed" else None
        else:
            self._fail(run)
        if run.store:
            try:  # stored before the terminal event: a client that saw `completed` can retrieve it
                self._catalog.insert_response(
                    run.tenant_id, response.model_dump(mode="json"), run.input_items, run.conversation
                )
            except DependencyDown as error:
                if run.error is None:
                    run.error = error
                    self._fail(run)
        self._usage.responded(run.tenant_id, run.usage.input_tokens, run.usage.output_tokens)
        terminal = {"completed": "response.completed", "incomplete": "response.incomplete"}.get(
            response.status, "response.failed"
        )
        yield run.event(terminal, response=run.snapshot())

    def _fail(self, run: ResponseRun) -> None:
        error = run.error
        response = run.response
        response.status = "failed"
        response.completed_at = None
        code: Literal["server_error", "rate_limit_exceeded", "vector_store_timeout"] = "server_error"
        if isinstance(error, RateLimited):
            code = "rate_limit_exceeded"
        elif any(isinstance(item, FileSearchCall) and item.status == "failed" for item in response.output):
            code = "vector_store_timeout"
        if isinstance(error, APIError):
            message = error.message
        elif isinstance(error, DependencyDown):
            message = f"The service is temporarily unavailable ({error})."
        else:
            message = "The server had an error while processing your request."
        response.error = ResponseError(code=code, message=message)
        for item in response.output:
            if isinstance(item, FileSearchCall) and item.status in ("in_progress", "searching"):
                item.status = "failed"
            elif isinstance(item, OutputMessage) and item.status == "in_progress":  # cut off mid-answer
                item.status = "incomplete"

    def _generate(self, run: ResponseRun, deadline: float) -> Iterator[Event]:
        request = run.request
        offer_tools = run.tool is not None and request.tool_choice != "none"
        extra_system: list[str] = []
        if offer_tools and not self._config.supports_tools:
            offer_tools = False
            extra_system.append((yield from self._fallback_search(run)))
        searches = 0
        for iteration in range(1, MAX_ITERATIONS + 1):
            tools_now = offer_tools and searches < run.max_searches and iteration < MAX_ITERATIONS
            force = tools_now and run.force_search and iteration == 1
            messages = self._messages(run, extra_system)
            try:
                reply = yield from self._turn(run, messages, tools_now, force, deadline)
            except ToolsRefused:
                if not tools_now or iteration > 1:
                    raise
                log.info("model %s refused tools; searching once with the user's input", shown(run.upstream_model))
                offer_tools = tools_now = False
                extra_system.append((yield from self._fallback_search(run)))
                reply = yield from self._turn(run, self._messages(run, extra_system), False, False, deadline)
            calls = list(reply.tool_calls) if tools_now else []
            if not calls:
                return  # the turn streamed the answer
            run.conversation.append(
                {
                    "role": "assistant",
                    "content": reply.content,
                    "tool_calls": [
                        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                        for c in calls
                    ],
                }
            )
            for position, call in enumerate(calls):
                skip = (
                    call.name != TOOL_NAME
                    or searches >= run.max_searches
                    or (position > 0 and not run.response.parallel_tool_calls)
                )
                if skip:
                    content = SKIPPED if call.name == TOOL_NAME else f"Unknown tool '{shown(call.name)}'."
                else:
                    queries = model_queries(call.arguments) or [_last_user_text(run)]
                    content = yield from self._tool_search(run, queries)
                    searches += 1
                run.conversation.append({"role": "tool", "tool_call_id": call.id, "content": content})
        raise BadGateway("The model kept calling tools without answering.", code="server_error")  # unreachable in practice

    def _messages(self, run: ResponseRun, extra_system: list[str]) -> list[dict[str, Any]]:
        system = [{"role": "system", "content": text} for text in [run.system, *extra_system] if text]
        return [*system, *run.conversation]

    def _turn(
        self, run: ResponseRun, messages: list[dict[str, Any]], tools: bool, force: bool, deadline: float
    ) -> Generator[Event, None, ChatReply]:
        """One model call, its answer streamed as it arrives; returns the reply. Text said in a turn
        that calls the tool is kept as a message of its own."""
        assert self._chat is not None  # prepare() refused the request otherwise
        checkpoint()  # the request's own budget (REQUEST_TIMEOUT_SECONDS until the answer starts; a client gone)
        remaining = deadline - self._clock()
        request_remaining = current_budget().remaining()
        if request_remaining is not None:
            remaining = min(remaining, request_remaining)
        if remaining <= 0:
            raise GatewayTimeout(
                f"The response took longer than its time budget ({self._config.time_budget_seconds:.0f} s).",
                code="timeout",
            )
        request = run.request
        options: dict[str, Any] = {}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        if request.top_p is not None:
            options["top_p"] = request.top_p
        if request.max_output_tokens is not None:
            options["max_tokens"] = request.max_output_tokens
        if request.user is not None:
            options["user"] = request.user
        if tools and request.parallel_tool_calls is not None:
            options["parallel_tool_calls"] = request.parallel_tool_calls
        tool_choice: str | dict[str, Any] = {"type": "function", "function": {"name": TOOL_NAME}} if force else "auto"
        answer = AnswerStream(run)
        reply: ChatReply | None = None
        for piece in self._chat.stream(
            run.upstream_model,
            messages,
            tools=[FILE_SEARCH_FUNCTION] if tools else None,
            tool_choice=tool_choice if tools else None,
            options=options,
            timeout=min(self._config.call_timeout_seconds, remaining),
        ):
            if isinstance(piece, ChatReply):
                reply = piece
            else:
                checkpoint()  # a client that left stops the model's stream here
                yield from answer.feed(piece)
        if reply is None:
            raise BadGateway("The model's answer ended early.", code="server_error")
        usage = run.usage
        usage.input_tokens += reply.usage.prompt_tokens
        usage.output_tokens += reply.usage.completion_tokens
        usage.input_tokens_details.cached_tokens += reply.usage.cached_tokens
        usage.output_tokens_details.reasoning_tokens += reply.usage.reasoning_tokens
        usage.total_tokens = usage.input_tokens + usage.output_tokens
        if tools and reply.tool_calls:
            if answer.started:
                yield from answer.finish(incomplete=False, remember=False)
        else:
            yield from answer.finish(incomplete=reply.finish_reason == "length", remember=True)
        return reply

    # ----------------------------------------------------------------------------------- search
    def _fallback_search(self, run: ResponseRun) -> Generator[Event, None, str]:
        """A model without tool calling: one search with the last user message, as a system note."""
        block: str = yield from self._tool_search(run, [_last_user_text(run)])
        return block

    def _tool_search(self, run: ResponseRun, queries: list[str]) -> Generator[Event, None, str]:
        """One file_search call: its events, and the tool message content (numbered results)."""
        assert run.tool is not None
        item = FileSearchCall(id=new_id(FILE_SEARCH_CALL_PREFIX), status="in_progress", queries=[], results=None)
        index = len(run.response.output)
        run.response.output.append(item)
        yield run.event("response.output_item.added", output_index=index, item=item.model_dump(mode="json"))
        yield run.event("response.file_search_call.in_progress", output_index=index, item_id=item.id)
        item.status = "searching"
        item.queries = queries
        yield run.event("response.file_search_call.searching", output_index=index, item_id=item.id)
        try:
            hits = self._search_stores(run.tenant_id, run.tool, queries)
        except Exception:
            item.status = "failed"
            yield run.event("response.output_item.done", output_index=index, item=_shown_item(item, run.include_results))
            raise
        item.status = "completed"
        item.results = hits
        first = len(run.sources) + 1
        run.sources.extend(Source(hit.file_id, hit.filename) for hit in hits)
        yield run.event("response.file_search_call.completed", output_index=index, item_id=item.id)
        yield run.event("response.output_item.done", output_index=index, item=_shown_item(item, run.include_results))
        return _results_block(queries, hits, first)

    def _search_stores(self, tenant_id: str, tool: FileSearchTool, queries: list[str]) -> list[FileSearchResult]:
        """The search service over each of the tool's stores, merged by score, cut to max_num_results."""
        options = tool.ranking_options
        request = SearchRequest(
            query=queries,
            filters=tool.filters,
            max_num_results=tool.max_num_results,
            ranking_options=RankingOptions(
                ranker=options.ranker, score_threshold=float(options.score_threshold), hybrid_search=options.hybrid_search
            ),
        )
        merged: dict[tuple[str, str], FileSearchResult] = {}
        for store_id in tool.vector_store_ids:
            page = self._search.search(tenant_id, store_id, request)
            self._usage.tool_searched(tenant_id, store_id)
            for hit in page.data:
                text = "\n".join(part.text for part in hit.content)
                key = (hit.file_id, text)
                if key not in merged or merged[key].score < hit.score:
                    merged[key] = FileSearchResult(
                        file_id=hit.file_id,
                        filename=hit.filename,
                        score=hit.score,
                        text=text,
                        attributes=hit.attributes,
                        vector_store_id=store_id,
                    )
        ranked = sorted(merged.values(), key=lambda r: r.score, reverse=True)
        return ranked[: tool.max_num_results]

    # -------------------------------------------------------------------------- stored responses
    def retrieve(self, caller: Principal, response_id: str, include: list[str]) -> ResponseObject:
        stored = self._stored(caller, response_id)
        return ResponseObject.model_validate(stored.response).shown(RESULTS_INCLUDE in include)

    def delete(self, caller: Principal, response_id: str) -> str:
        self._stored(caller, response_id)
        if not self._catalog.delete_response(caller.project_id or "", response_id):
            raise _response_not_found(response_id)
        return response_id

    def cancel(self, caller: Principal, response_id: str) -> None:
        self._stored(caller, response_id)
        raise InvalidRequest("Only background responses can be cancelled.", param="response_id")

    def input_items(self, caller: Principal, response_id: str, page: PageRequest, include: list[str]) -> Page[dict[str, Any]]:
        """The request's own input items (not inherited history), newest first unless `order=asc`."""
        items = list(self._stored(caller, response_id).input_items)
        if RESULTS_INCLUDE not in include:
            items = [{**item, "results": None} if item.get("type") == "file_search_call" else item for item in items]
        if page.order == "desc":
            items.reverse()
        ids = [item["id"] for item in items]
        if page.after is not None:
            items = items[ids.index(page.after) + 1 :] if page.after in ids else []
        if page.before is not None:
            ids = [item["id"] for item in items]
            items = items[: ids.index(page.before)] if page.before in ids else items
        return Page(items[: page.limit], len(items) > page.limit)

    def _stored(self, caller: Principal, response_id: str) -> StoredResponse:
        stored = self._visible(caller, response_id)
        if stored is None:
            raise _response_not_found(response_id)
        return stored

    def _visible(self, caller: Principal, response_id: str) -> StoredResponse | None:
        """The project's stored response, if the caller may see it: a key scoped to some stores does
        not see answers (and search results) drawn from other stores."""
        if not response_id.startswith(RESPONSE_PREFIX) or caller.project_id is None:
            return None
        stored = self._catalog.get_response(caller.project_id, response_id)
        if stored is None:
            return None
        searched = [store for tool in stored.response.get("tools", []) for store in tool.get("vector_store_ids", [])]
        return stored if all(caller.may_use_store(store) for store in searched) else None


def _response_not_found(response_id: str) -> NotFound:
    return NotFound(f"Response with id '{shown(response_id)}' not found.")


def _last_user_text(run: ResponseRun) -> str:
    text = next((m["content"] for m in reversed(run.conversation) if m.get("role") == "user" and m.get("content")), "")
    return str(text)[:FALLBACK_QUERY_CHARS] or "?"


def _shown_item(item: FileSearchCall, include_results: bool) -> dict[str, Any]:
    shown_item = item if include_results else item.model_copy(update={"results": None})
    return shown_item.model_dump(mode="json")


def _results_block(queries: list[str], hits: list[FileSearchResult], first: int) -> str:
    if not hits:
        return "file_search returned no results."
    quoted = ", ".join(f'"{q}"' for q in queries)
    lines = [f"file_search returned {len(hits)} results for {quoted}."]
    for number, hit in enumerate(hits, start=first):
        lines.append(f"[{number}] {hit.filename} ({hit.file_id}), score {hit.score:.2f}")
        lines.append(hit.text)
    lines.append("Cite a result by writing its number in brackets, e.g. [1], right after the sentence it supports.")
    return "\n".join(lines)
