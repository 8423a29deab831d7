"""One response being made: its state, its numbered stream events, and the streamed answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from ..ids import MESSAGE_PREFIX, new_id
from ..models.responses import (
    CreateResponseRequest,
    FileSearchTool,
    IncompleteDetails,
    OutputMessage,
    OutputText,
    ResponseObject,
    ResponseUsage,
)
from .citations import Source, cite, settled_length

Event = dict[str, Any]


@dataclass
class ResponseRun:
    """One response being made: what `prepare` settled and what `run` accumulates."""

    tenant_id: str
    request: CreateResponseRequest
    tool: FileSearchTool | None
    upstream_model: str
    system: str | None
    conversation: list[dict[str, Any]]  # chat messages without the system one: what is stored
    input_items: list[dict[str, Any]]
    include_results: bool
    store: bool
    response: ResponseObject
    max_searches: int
    force_search: bool
    sources: list[Source] = field(default_factory=list)
    usage: ResponseUsage = field(default_factory=ResponseUsage)
    error: BaseException | None = None
    sequence: int = 0

    def event(self, kind: str, **payload: Any) -> Event:
        event = {"type": kind, **payload, "sequence_number": self.sequence}
        self.sequence += 1
        return event

    def snapshot(self) -> dict[str, Any]:
        return self.response.shown(self.include_results).model_dump(mode="json")


class AnswerStream:
    """The assistant message of one model turn, streamed as its text arrives. Text is held back only
    while it may still end in a citation marker, so deltas never contain markers and their
    concatenation is the final text; each annotation is announced once the text before it is out."""

    def __init__(self, run: ResponseRun) -> None:
        self._run = run
        self._raw = ""
        self._sent = 0  # characters of cited text sent as deltas
        self._announced = 0  # annotations sent
        self._message: OutputMessage | None = None
        self._index = 0

    @property
    def started(self) -> bool:
        return self._message is not None

    def _ids(self) -> dict[str, Any]:
        assert self._message is not None
        return {"item_id": self._message.id, "output_index": self._index, "content_index": 0}

    def _open(self) -> Iterator[Event]:
        if self._message is not None:
            return
        run = self._run
        self._message = OutputMessage(id=new_id(MESSAGE_PREFIX), status="in_progress", content=[])
        self._index = len(run.response.output)
        run.response.output.append(self._message)
        yield run.event("response.output_item.added", output_index=self._index, item=self._message.model_dump(mode="json"))
        yield run.event("response.content_part.added", **self._ids(), part=OutputText(text="").model_dump(mode="json"))

    def feed(self, piece: str) -> Iterator[Event]:
        self._raw += piece
        if self._message is None and not self._raw.strip():
            return  # whitespace before a tool call is no message
        yield from self._open()
        yield from self._send(settled_length(self._raw))

    def _send(self, length: int) -> Iterator[Event]:
        text, annotations = cite(self._raw[:length], self._run.sources)
        if len(text) > self._sent:
            yield self._run.event("response.output_text.delta", **self._ids(), delta=text[self._sent :], logprobs=[])
            self._sent = len(text)
        for annotation in annotations[self._announced :]:
            yield self._run.event(
                "response.output_text.annotation.added",
                **self._ids(),
                annotation_index=self._announced,
                annotation=annotation.model_dump(mode="json"),
            )
            self._announced += 1

    def finish(self, *, incomplete: bool, remember: bool) -> Iterator[Event]:
        """Send the rest and close the message; `remember`: it ends the turn's conversation."""
        run = self._run
        yield from self._open()
        yield from self._send(len(self._raw))
        text, annotations = cite(self._raw, run.sources)
        assert self._message is not None
        part = OutputText(text=text, annotations=annotations)
        self._message.content = [part]
        self._message.status = "incomplete" if incomplete else "completed"
        if incomplete:
            run.response.incomplete_details = IncompleteDetails(reason="max_output_tokens")
        yield run.event("response.output_text.done", **self._ids(), text=text, logprobs=[])
        yield run.event("response.content_part.done", **self._ids(), part=part.model_dump(mode="json"))
        yield run.event("response.output_item.done", output_index=self._index, item=self._message.model_dump(mode="json"))
        if remember:
            run.conversation.append({"role": "assistant", "content": text})
