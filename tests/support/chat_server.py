"""A small, deterministic OpenAI-compatible Chat Completions server: the upstream model of the
Responses tests, standing in for OpenAI, vLLM or Ollama the way moto stands in for AWS.

Offered the `file_search` function, it calls it on the first turn with the last user message as
its query; shown results (a tool message, or the system note of a model without tools), it answers
by quoting the first sentence of the first two results, each followed by its citation marker
`[n]`. The requested model name picks a failure to act out (see `CHAOS`). It answers as one JSON
body, or streamed as chunks when asked to (`stream: true`). Every request it received is kept in
`requests`.

    python -m tests.support.chat_server --port 8101     (for trying the README's snippets by hand)
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# model name -> behaviour
CHAOS = {
    "upstream-500": "answers 500",
    "slow": "answers after SLOW_SECONDS",
    "no-tools": "refuses requests with tools (400), like a model without tool calling",
    "missing-model": "answers 404 model_not_found",
    "rate-limited": "answers 429 with Retry-After: 7",
    "bad-key": "answers 401, quoting the key it was sent",
    "length": "answers with finish_reason 'length'",
    "loop": "calls file_search on every turn it is offered it, twice in parallel",
    "slow-stream": "streams a long answer, one chunk every STREAM_PAUSE_SECONDS",
}
STREAM_PAUSE_SECONDS = 0.2
SLOW_SECONDS = 5.0
RESULT_LINE = re.compile(r"^\[(\d+)\] (.+) \((file-[^)]+)\), score ")


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


def _results(messages: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(number, text) of every result shown in tool messages and system notes."""
    found: list[tuple[int, str]] = []
    for message in messages:
        if message.get("role") not in ("tool", "system"):
            continue
        lines = str(message.get("content") or "").splitlines()
        for i, line in enumerate(lines):
            match = RESULT_LINE.match(line)
            if match and i + 1 < len(lines):
                found.append((int(match.group(1)), lines[i + 1]))
    return found


def _first_sentence(text: str) -> str:
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


def answer_for(messages: list[dict[str, Any]]) -> str:
    results = _results(messages)
    if results:
        return " ".join(f"{_first_sentence(text)} [{number}]" for number, text in results[:2])
    if any(m.get("role") == "tool" for m in messages):
        return "The files do not say."
    return "Hello from the test model."


def stream_chunks(completion: dict[str, Any]) -> list[dict[str, Any]]:
    base = {k: completion[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    choice = completion["choices"][0]
    message = choice["message"]
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}]
    words = re.findall(r"\S+\s*", message.get("content") or "")
    for i in range(0, len(words), 2):  # two words per chunk: markers arrive split from their text
        delta = {"content": "".join(words[i : i + 2])}
        chunks.append({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    for index, call in enumerate(message.get("tool_calls") or []):
        arguments = call["function"]["arguments"]
        head = {"index": index, "id": call["id"], "type": "function", "function": {"name": "file_search", "arguments": arguments[:5]}}
        tail = {"index": index, "function": {"arguments": arguments[5:]}}  # arguments arrive in pieces
        for part in (head, tail):
            chunks.append({**base, "choices": [{"index": 0, "delta": {"tool_calls": [part]}, "finish_reason": None}]})
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}]})
    chunks.append({**base, "choices": [], "usage": completion["usage"]})
    return chunks


class ChatServer:
    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.streams_abandoned = 0  # streamed answers whose client closed the connection before the end
        self.authorizations: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                server.authorizations.append(self.headers.get("authorization", ""))
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "not found"}})
                    return
                status, payload, headers = server.complete(body, self.headers.get("authorization", ""))
                if status == 200 and body.get("stream"):
                    self._send_stream(payload)
                else:
                    self._send(status, payload, headers)

            def _send_stream(self, completion: dict[str, Any]) -> None:
                """The completion as Chat Completions chunks: text a few words at a time, usage last."""
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                slow = completion["model"] == "slow-stream"
                try:
                    for chunk in stream_chunks(completion):
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                        if slow:
                            time.sleep(STREAM_PAUSE_SECONDS)
                    self.wfile.write(b"data: [DONE]\n\n")
                except (BrokenPipeError, ConnectionResetError):
                    server.streams_abandoned += 1

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except BrokenPipeError:  # the client gave up (a timeout test)
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="chat-server", daemon=True)

    def start(self) -> "ChatServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def requests_for(self, marker: str) -> list[dict[str, Any]]:
        """The requests whose messages mention `marker` (a test's unique question)."""
        return [r for r in self.requests if marker in json.dumps(r.get("messages", []))]

    def complete(self, body: dict[str, Any], authorization: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        model = str(body.get("model", ""))
        messages: list[dict[str, Any]] = body.get("messages", [])
        if model == "upstream-500":
            return 500, {"error": {"message": "the model crashed", "type": "server_error"}}, {}
        if model == "slow":
            time.sleep(SLOW_SECONDS)
        if model == "missing-model":
            return 404, {"error": {"message": f"model {model} not found", "code": "model_not_found"}}, {}
        if model == "rate-limited":
            return 429, {"error": {"message": "slow down", "type": "requests"}}, {"retry-after": "7"}
        if model == "bad-key":
            return 401, {"error": {"message": f"Incorrect API key provided: {authorization[7:]}"}}, {}
        if model == "no-tools" and body.get("tools"):
            return 400, {"error": {"message": "this model does not support tools", "type": "invalid_request_error"}}, {}
        prompt_tokens = sum(len(str(m.get("content") or "")) for m in messages) // 4 + 1
        searched = bool(messages) and messages[-1].get("role") == "tool"  # answering this turn's search
        if body.get("tools") and (model == "loop" or not searched):
            query = _last_user_text(messages)
            count = 2 if model == "loop" else 1
            calls = [
                {
                    "id": f"call_{uuid.uuid4().hex[:12]}",
                    "type": "function",
                    "function": {"name": "file_search", "arguments": json.dumps({"queries": [query]})},
                }
                for _ in range(count)
            ]
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": calls}
            finish, completion_tokens = "tool_calls", 12
        else:
            content = answer_for(messages)
            if model == "slow-stream":
                content = " ".join([content] * 40)
            message = {"role": "assistant", "content": content}
            finish, completion_tokens = ("length" if model == "length" else "stop"), len(content) // 4 + 1
        return (
            200,
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
            {},
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8101)
    port = parser.parse_args().port
    server = ChatServer(port).start()
    print(f"test chat server on {server.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
