"""A ChatBackend over any OpenAI-compatible /v1/chat/completions endpoint, through the openai SDK.

Upstream failures become the API's own errors here, so nothing about the upstream (its key, its
internals) reaches a client: connection refused or a connect timeout opens a circuit breaker (503
with Retry-After), a read timeout is a 504, a 5xx or a refusal of our credentials a 502.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

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

    def complete(
        self,
        model: str,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None,
        tool_choice: str | dict[str, Any] | None,
        options: dict[str, Any],
        timeout: float,
    ) -> ChatReply:
        import openai

        body: dict[str, Any] = {"model": model, "messages": messages, **options}
        if tools:
            body["tools"] = tools
            if tool_choice is not None:
                body["tool_choice"] = tool_choice
        self._breaker.check()
        client = self._get_client().with_options(
            timeout=openai.Timeout(timeout, connect=min(timeout, self._connect_timeout))
        )
        try:
            completion = client.chat.completions.create(**body)
        except openai.APITimeoutError as error:
            if type(error.__cause__).__name__ == "ConnectTimeout":  # nobody answered: an outage
                raise self._breaker.failed() from error
            raise GatewayTimeout(
                f"The model did not answer within {timeout:.0f} seconds.", code="timeout"
            ) from None
        except openai.APIConnectionError as error:
            raise self._breaker.failed() from error
        except openai.APIStatusError as error:
            self._breaker.succeeded()  # it answered
            raise self._mapped(error, model, bool(tools)) from None
        self._breaker.succeeded()
        return _reply(completion)

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


def _reply(completion: Any) -> ChatReply:
    choice = completion.choices[0] if completion.choices else None
    message = choice.message if choice is not None else None
    calls = [
        ToolCall(id=call.id or f"call_{i}", name=call.function.name, arguments=call.function.arguments or "")
        for i, call in enumerate((message.tool_calls or []) if message is not None else [])
        if getattr(call, "function", None) is not None
    ]
    usage = completion.usage
    prompt_details = getattr(usage, "prompt_tokens_details", None) if usage else None
    completion_details = getattr(usage, "completion_tokens_details", None) if usage else None
    return ChatReply(
        content=message.content if message is not None else None,
        tool_calls=calls,
        finish_reason=choice.finish_reason if choice is not None else None,
        usage=ChatUsage(
            prompt_tokens=(usage.prompt_tokens or 0) if usage else 0,
            completion_tokens=(usage.completion_tokens or 0) if usage else 0,
            cached_tokens=(getattr(prompt_details, "cached_tokens", 0) or 0),
            reasoning_tokens=(getattr(completion_details, "reasoning_tokens", 0) or 0),
        ),
    )
