"""What the Responses service needs from a chat model: one completion per call, errors already mapped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it (possibly invalid)


@dataclass(frozen=True)
class ChatUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class ChatReply:
    content: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: ChatUsage = field(default_factory=ChatUsage)


class ToolsRefused(Exception):
    """The endpoint rejected the request because of `tools`/`tool_choice` (a model without tool calling)."""


class ChatBackend(Protocol):
    @property
    def available(self) -> bool:
        """False while the endpoint was last found unreachable."""
        ...

    def stream(
        self,
        model: str,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None,
        tool_choice: str | dict[str, Any] | None,
        options: dict[str, Any],
        timeout: float,
    ) -> Iterator[str | ChatReply]:
        """One chat completion, streamed: its text as it arrives, then the whole ChatReply (text, tool
        calls, finish reason, usage) last. Raises the API's errors (BadGateway, GatewayTimeout,
        NotFound for an unknown model, InvalidRequest, RateLimited), DependencyDown while the
        endpoint cannot be reached, and ToolsRefused when tools were sent and the endpoint refused them."""
        ...
