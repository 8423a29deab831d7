"""The Responses API subset with the `file_search` tool: the request body and the `Response` object
(docs/responses-file-search.md in ../shared is the contract; field notes cite the SDK's types)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr

from .common import Metadata, RequestModel, ResponseModel
from .search import MAX_NUM_RESULTS, CompoundFilter, Filters, HybridSearchOptions

MAX_VECTOR_STORES_PER_TOOL = 10
DEFAULT_TOOL_RESULTS = 10  # OGX's default; the SDK states none
RESULTS_INCLUDE = "file_search_call.results"
# The SDK's ResponseIncludable literal: every value is accepted, only the first two change anything.
Includable = Literal[
    "file_search_call.results",
    "message.output_text.logprobs",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
]
Number = Union[StrictInt, StrictFloat]
# What OpenAI's schema allows for the fields this subset refuses (an id, an object, a list of objects).
Refused = Union[StrictStr, dict[str, Any], list[dict[str, Any]], None]


# ------------------------------------------------------------------------------------- request
class ToolRankingOptions(RequestModel):
    ranker: Literal["auto", "default-2024-11-15"] = "auto"
    score_threshold: Number = Field(default=0.0, ge=0.0, le=1.0)
    hybrid_search: HybridSearchOptions | None = None


class FileSearchTool(RequestModel):
    type: Literal["file_search"]
    vector_store_ids: list[StrictStr] = Field(min_length=1, max_length=MAX_VECTOR_STORES_PER_TOOL)
    max_num_results: StrictInt = Field(default=DEFAULT_TOOL_RESULTS, ge=1, le=MAX_NUM_RESULTS)
    filters: Filters | None = None
    ranking_options: ToolRankingOptions = Field(default_factory=ToolRankingOptions)


# The filter grammar refers to CompoundFilter by name (it nests): resolve it in this module too.
FileSearchTool.model_rebuild(_types_namespace={"CompoundFilter": CompoundFilter})


class CreateResponseRequest(RequestModel):
    """`POST /v1/responses`. `tools`, `input` and `tool_choice` stay raw here: what is outside the
    subset is refused with a precise `param` by services/responses.py, not as a pydantic union error."""

    model: StrictStr = Field(min_length=1, max_length=256)
    input: Union[StrictStr, list[dict[str, Any]]]
    instructions: StrictStr | None = None
    tools: list[dict[str, Any]] = Field(default_factory=list)
    tool_choice: Union[Literal["none", "auto", "required"], dict[str, Any]] = "auto"
    include: list[Includable] | None = None
    previous_response_id: StrictStr | None = None
    store: StrictBool | None = None
    metadata: Metadata | None = None
    temperature: Number | None = Field(default=None, ge=0, le=2)
    top_p: Number | None = Field(default=None, ge=0, le=1)
    max_output_tokens: StrictInt | None = Field(default=None, ge=16)
    max_tool_calls: StrictInt | None = Field(default=None, ge=1)
    parallel_tool_calls: StrictBool | None = None
    stream: StrictBool | None = None
    user: StrictStr | None = None
    safety_identifier: StrictStr | None = Field(default=None, max_length=128)
    truncation: Literal["auto", "disabled"] | None = None
    text: dict[str, Any] | None = None
    background: StrictBool | None = None
    # Accepted and ignored (echoed where the Response has the field).
    service_tier: StrictStr | None = None
    prompt_cache_key: StrictStr | None = None
    prompt_cache_retention: StrictStr | None = None
    reasoning: dict[str, Any] | None = None
    top_logprobs: StrictInt | None = None
    stream_options: dict[str, Any] | None = None
    # Refused with `unsupported_parameter` when given (present in OpenAI's schema, not in this subset).
    conversation: Refused = None
    prompt: Refused = None
    context_management: Refused = None
    moderation: Refused = None
    access_programs: Refused = None
    image: Refused = None


UNSUPPORTED_PARAMETERS = ("conversation", "prompt", "context_management", "moderation", "access_programs", "image")


# ------------------------------------------------------------------------------------ response
class FileSearchResult(ResponseModel):
    file_id: str
    filename: str
    score: float
    text: str
    attributes: dict[str, str | bool | int | float] | None = None
    vector_store_id: str | None = None  # extra field: which store it came from


class FileSearchCall(ResponseModel):
    id: str
    type: Literal["file_search_call"] = "file_search_call"
    status: Literal["in_progress", "searching", "completed", "incomplete", "failed"]
    queries: list[str]
    results: list[FileSearchResult] | None = None


class FileCitation(ResponseModel):
    type: Literal["file_citation"] = "file_citation"
    file_id: str
    filename: str
    index: int


class OutputText(ResponseModel):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[FileCitation] = Field(default_factory=list)
    logprobs: list[dict[str, Any]] = Field(default_factory=list)


class OutputMessage(ResponseModel):
    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    status: Literal["in_progress", "completed", "incomplete"]
    content: list[OutputText]


OutputItem = Annotated[Union[FileSearchCall, OutputMessage], Field(discriminator="type")]


class InputTokensDetails(ResponseModel):
    cached_tokens: int = 0
    cache_write_tokens: int = 0  # required by SDK 3.52+


class OutputTokensDetails(ResponseModel):
    reasoning_tokens: int = 0


class ResponseUsage(ResponseModel):
    input_tokens: int = 0
    input_tokens_details: InputTokensDetails = Field(default_factory=InputTokensDetails)
    output_tokens: int = 0
    output_tokens_details: OutputTokensDetails = Field(default_factory=OutputTokensDetails)
    total_tokens: int = 0


class ResponseError(ResponseModel):
    # The SDK's closed literal (response_error.py); only these three are used here.
    code: Literal["server_error", "rate_limit_exceeded", "vector_store_timeout"]
    message: str


class IncompleteDetails(ResponseModel):
    reason: Literal["max_output_tokens"]


class Reasoning(ResponseModel):
    effort: str | None = None
    summary: str | None = None


class TextFormat(ResponseModel):
    type: Literal["text"] = "text"


class TextConfig(ResponseModel):
    format: TextFormat = Field(default_factory=TextFormat)
    verbosity: str = "medium"


ResponseStatus = Literal["completed", "failed", "in_progress", "incomplete"]


class ResponseObject(ResponseModel):
    id: str
    object: Literal["response"] = "response"
    created_at: int
    status: ResponseStatus
    completed_at: int | None = None
    background: bool = False
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    model: str
    output: list[OutputItem] = Field(default_factory=list)
    parallel_tool_calls: bool = True
    previous_response_id: str | None = None
    reasoning: Reasoning = Field(default_factory=Reasoning)
    safety_identifier: str | None = None
    service_tier: str = "default"
    store: bool = True
    temperature: float = 1.0
    text: TextConfig = Field(default_factory=TextConfig)
    tool_choice: Union[str, dict[str, Any]] = "auto"
    tools: list[dict[str, Any]] = Field(default_factory=list)
    top_logprobs: int = 0
    top_p: float = 1.0
    truncation: Literal["auto", "disabled"] = "disabled"
    usage: ResponseUsage | None = None
    user: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)

    def shown(self, include_results: bool) -> "ResponseObject":
        """The response as a caller sees it: search results only when `include` asked for them."""
        if include_results:
            return self
        output = [
            item.model_copy(update={"results": None}) if isinstance(item, FileSearchCall) else item
            for item in self.output
        ]
        return self.model_copy(update={"output": output})

    @property
    def output_text(self) -> str:
        return "".join(part.text for item in self.output if isinstance(item, OutputMessage) for part in item.content)


class ResponseItemList(ResponseModel):
    """`GET /v1/responses/{id}/input_items`: the stored input items, in the SDK's ResponseItem shapes."""

    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    first_id: str | None
    last_id: str | None
    has_more: bool


class DeletedResponse(ResponseModel):
    id: str
    object: Literal["response"] = "response"
    deleted: bool = True
