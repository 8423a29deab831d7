"""A ChatBackend over any OpenAI-compatible /v1/chat/completions endpoint, through the openai SDK.

Upstream failures become the API's own errors here, so nothing about the upstream (its key, its
internals) reaches a client: connection refused or a connect timeout opens a circuit breaker (503
with Retry-After), a read timeout is a 504, a 5xx or a refusal of our credentials a 502.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import APIError, BadGateway, GatewayTimeout, InvalidRequest, NotFound, RateLimited, shown
from ..resilience import CircuitBreaker
from .base import ChatReply, ChatUsage, ToolCall, ToolsRefused

if TYPE_CHECKING:  # the SDK loads on the first request
    from openai import APIStatusError, OpenAI

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
DEPENDENCY = "the chat completions endpoint"


class OpenAIChatBackend:
    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        *,
        connect_timeout: float = 3.0,
        cooldown: float = 1.0,
    ) -> None:
        self._base_url = base_url or OPENAI_BASE_URL
        self._api_key = api_key
        self._connect_timeout = connect_timeout
        self._breaker = CircuitBreaker(DEPENDENCY, cooldown)
        self._client: OpenAI | None = None
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return not self._breaker.tripped

    def _get_client(self) -> OpenAI:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from openai import OpenAI

                    # Self-hosted servers often need no key, but the SDK insists on one. No SDK
                    # retries: the time budget is the caller's, and a failure is answered at once.
                    self._client = OpenAI(api_key=self._api_key or "unused", base_url=self._base_url, max_retries=0)
        return self._client

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
        import openai

        body: dict[str, Any] = {
            "model": model,
            "messages": messages,
            **options,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            body["tools"] = tools
            if tool_choice is not None:
                body["tool_choice"] = tool_choice
        self._breaker.check()
        client = self._get_client().with_options(
            timeout=openai.Timeout(timeout, connect=min(timeout, self._connect_timeout))
        )
        with self._upstream(model, bool(tools), timeout):
            chunks = client.chat.completions.create(**body)
        self._breaker.succeeded()
        reply = _ReplyBuilder()
        try:
            with self._upstream(model, bool(tools), timeout):
                for chunk in chunks:
                    text = reply.add(chunk)
                    if text:
                        yield text
        finally:  # also when the caller stops early (its client left): the upstream stops generating
            chunks.close()
        yield reply.build()

    @contextmanager
    def _upstream(self, model: str, sent_tools: bool, timeout: float) -> Iterator[None]:
        """The SDK's exceptions as the API's errors (see the module docstring)."""
        import openai

        try:
            yield
        except openai.APITimeoutError as error:
            if type(error.__cause__).__name__ == "ConnectTimeout":  # nobody answered: an outage
                raise self._breaker.failed() from error
            raise GatewayTimeout(f"The model did not answer within {timeout:.0f} seconds.", code="timeout") from None
        except openai.APIConnectionError as error:
            raise self._breaker.failed() from error
        except openai.APIStatusError as error:
            self._breaker.succeeded()  # it answered
            raise self._mapped(error, model, sent_tools) from None

    def _mapped(self, error: APIStatusError, model: str, sent_tools: bool) -> Exception:
        status, message = error.status_code, self._scrubbed(_upstream_message(error))
        log.warning("chat completions endpoint answered %s for model %s", status, shown(model))
        if status == 400 and sent_tools and ("tool" in message.lower()):
            return ToolsRefused(message)
        if status == 404:
            return NotFound(f"The model '{shown(model)}' does not exist.", param="model", code="model_not_found")
        if status in (400, 413, 422):
            code = _upstream_code(error) or ("context_length_exceeded" if "context" in message.lower() else None)
            return InvalidRequest(message or "The model rejected the request.", code=code)
        if status in (401, 403):
            return BadGateway(
                "The server's credentials for its model endpoint were refused.", code="upstream_auth_failed"
            )
        if status == 429:
            retry_after = error.response.headers.get("retry-after")
            limited: APIError = RateLimited(
                "The model endpoint is rate limited. Please retry shortly.",
                code="rate_limit_exceeded",
                headers={"retry-after": retry_after} if retry_after else None,
            )
            return limited
        return BadGateway(f"Upstream model error: {status}.", code="server_error")

    def _scrubbed(self, text: str) -> str:
        """An upstream message may quote the key it was sent (OpenAI's 401 does, in part)."""
        if self._api_key:
            text = text.replace(self._api_key, "***")
        return text[:1000]


def _upstream_message(error: APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return ""


def _upstream_code(error: APIStatusError) -> str | None:
    code = getattr(error, "code", None)
    return code if isinstance(code, str) else None


class _ReplyBuilder:
    """Assembles a streamed completion: text pieces, tool calls sent in fragments, usage last."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.usage: Any = None

    def add(self, chunk: Any) -> str:
        if getattr(chunk, "usage", None):
            self.usage = chunk.usage
        added = []
        for choice in chunk.choices or []:
            delta = choice.delta
            if delta is None:
                continue
            if delta.content:
                added.append(delta.content)
            for call in delta.tool_calls or []:
                slot = self.calls.setdefault(call.index, {"id": None, "name": "", "arguments": ""})
                slot["id"] = call.id or slot["id"]
                if call.function is not None:
                    slot["name"] += call.function.name or ""
                    slot["arguments"] += call.function.arguments or ""
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        self.text.extend(added)
        return "".join(added)

    def build(self) -> ChatReply:
        usage = self.usage
        prompt_details = getattr(usage, "prompt_tokens_details", None)
        completion_details = getattr(usage, "completion_tokens_details", None)
        return ChatReply(
            content="".join(self.text) or None,
            tool_calls=[
                ToolCall(id=slot["id"] or f"call_{index}", name=slot["name"], arguments=slot["arguments"])
                for index, slot in sorted(self.calls.items())
            ],
            finish_reason=self.finish_reason,
            usage=ChatUsage(
                prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
                cached_tokens=getattr(prompt_details, "cached_tokens", 0) or 0,
                reasoning_tokens=getattr(completion_details, "reasoning_tokens", 0) or 0,
            ),
        )
