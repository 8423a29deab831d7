"""The official `openai` SDK against a running local server: clients, uploads, attaching and polling,
and the checks the end-to-end suites share. Every helper here is written once; the suites import it."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import httpx
import pytest
from openai import OpenAI
from openai.types import FileObject, VectorStore
from openai.types.vector_store import FileCounts
from openai.types.vector_stores import VectorStoreFile

from .servers import ApiServer

T = TypeVar("T")

POLL_MS = 100  # the SDK's polling interval in the suites
MAX_WAIT = 60  # seconds: a file must settle well within this, never hang


class RawResponse(Protocol):
    """A `with_raw_response` result: its body."""

    @property
    def content(self) -> bytes: ...


# ----------------------------------------------------------------------------------- clients
def make_client(base_url: str, api_key: str | None = None) -> OpenAI:
    """The SDK in strict mode with no retries; a fresh key (so a fresh, empty tenant) unless one is given."""
    return OpenAI(
        base_url=base_url + "/v1",
        api_key=api_key or f"sk-test-{uuid.uuid4().hex}",
        _strict_response_validation=True,
        max_retries=0,
    )


def http_client(server: ApiServer, key: str | None = None, path: str = "") -> httpx.Client:
    """Raw HTTP at `server.base_url + path` for what the SDK cannot send, as `key` (default: a fresh tenant)."""
    key = key or f"sk-test-{uuid.uuid4().hex}"
    return httpx.Client(base_url=server.base_url + path, headers={"Authorization": f"Bearer {key}"}, timeout=30)


# ------------------------------------------------------------------------------ files, stores
def upload(
    client: OpenAI, name: str = "note.txt", text: str | bytes = "hello world", purpose: str = "assistants", **kw: Any
) -> FileObject:
    """POST /v1/files: `text` (str: UTF-8) as `name`; the SDK picks the content type from the name."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    created: FileObject = client.files.create(file=(name, data), purpose=purpose, **kw)  # type: ignore[arg-type]  # bad purposes too
    return created


def new_store(client: OpenAI, name: str = "store") -> VectorStore:
    return client.vector_stores.create(name=name)


def attach(client: OpenAI, store_id: str, file_id: str) -> VectorStoreFile:
    """Attach an uploaded file and poll until it is processed; it must complete."""
    vsf = client.vector_stores.files.create_and_poll(
        file_id, vector_store_id=store_id, poll_interval_ms=POLL_MS, max_wait_seconds=MAX_WAIT
    )
    assert vsf.status == "completed", vsf
    return vsf


def attach_text(
    client: OpenAI, store_id: str, filename: str, text: str, *, max_wait_seconds: float = MAX_WAIT, **kwargs: Any
) -> VectorStoreFile:
    """Upload + attach + poll (bounded); returns the file whatever it ended as."""
    return client.vector_stores.files.upload_and_poll(
        vector_store_id=store_id,
        file=(filename, text.encode("utf-8")),
        poll_interval_ms=POLL_MS,
        max_wait_seconds=max_wait_seconds,
        **kwargs,
    )


def attach_text_completed(
    client: OpenAI, store_id: str, filename: str, text: str, *, max_wait_seconds: float = 120, **kwargs: Any
) -> VectorStoreFile:
    """`attach_text`, and the file must complete."""
    vs_file = attach_text(client, store_id, filename, text, max_wait_seconds=max_wait_seconds, **kwargs)
    assert vs_file.status == "completed", vs_file.last_error
    return vs_file


def wait_until(predicate: Callable[[], T], timeout: float = 60.0, interval: float = 0.2, what: str = "condition") -> T:
    """Poll `predicate` until it returns a truthy value (returned) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# ------------------------------------------------------------------------------------ checks
def check_counts(counts: FileCounts) -> None:
    """A store's or batch's file counts add up."""
    assert counts.total == counts.in_progress + counts.completed + counts.failed + counts.cancelled, counts


def check_store(store: VectorStore, *, live: bool = False) -> None:
    """A store's counts add up and it is `in_progress` exactly while a file is; `live`: not expired either."""
    counts = store.file_counts
    check_counts(counts)
    if live:
        assert store.status != "expired"
    assert (store.status == "in_progress") == (counts.in_progress > 0), (store.status, counts)


def retrieve_store(client: OpenAI, store_id: str, *, live: bool = False) -> VectorStore:
    """GET the store, checking `check_store` on the way."""
    store = client.vector_stores.retrieve(store_id)
    check_store(store, live=live)
    return store


def assert_static(vs_file: VectorStoreFile, max_tokens: int, overlap: int) -> None:
    """The file was chunked with the static strategy and these sizes."""
    strategy = vs_file.chunking_strategy
    assert strategy is not None
    assert strategy.type == "static"
    assert strategy.static.max_chunk_size_tokens == max_tokens
    assert strategy.static.chunk_overlap_tokens == overlap


def assert_error_body(body: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's error shape: {"error": {message, type, param, code}}; returns the inner error."""
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    return error


def raw_json(raw: RawResponse) -> dict[str, Any]:
    """The JSON body of a `with_raw_response` call, as the server sent it."""
    body: dict[str, Any] = json.loads(raw.content)
    return body


# ---------------------------------------------------------------------------------- documents
def make_pdf(paragraphs: list[str]) -> bytes:
    """A text PDF, one paragraph each."""
    from reportlab.lib.pagesizes import letter  # type: ignore[import-untyped]  # reportlab ships no types
    from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
    from reportlab.platypus import Paragraph, SimpleDocTemplate  # type: ignore[import-untyped]

    buf = io.BytesIO()
    style = getSampleStyleSheet()["BodyText"]
    SimpleDocTemplate(buf, pagesize=letter).build([Paragraph(p, style) for p in paragraphs])
    return buf.getvalue()
