"""End to end, through the official SDK: huge and hostile files are refused cleanly, nothing is left behind.

- A 600 MB upload (streamed from a generator, never held in memory) is refused at OpenAI's 512 MB limit
  with OpenAI's 400: while it streams when the client sends no length, before a byte is read when its
  Content-Length already says so.
- Zip bombs (.docx), a huge-directory .pptx, a flate-bomb PDF and an HTML file of a million elements,
  attached to a store, end `failed` with `last_error.code` `invalid_file`, and the server goes on ingesting.

The server's peak memory over each case (its VmHWM, tests/support/memory.py) is asserted loosely:
a bounded server grows by a few tens of MB at most, an unbounded one by the file's inflated size.
Times are not asserted; `python -m bench.hostile_files` measures both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from tests.support.bombs import GIB, GeneratedFile, docx_zip_bomb, pdf_flate_bomb, pptx_with_entries
from tests.support.memory import MIB, PeakRss
from tests.support.sdk import MAX_WAIT, POLL_MS, assert_error_body, attach_text_completed, make_client, new_store
from tests.support.servers import ServerProcess, serve

MAX_FILE_BYTES = 512 * MIB  # the servers' default, OpenAI's limit
SMALL_MAX_FILE_BYTES = 1 * MIB
SMALL_MAX_TEXT_CHARS = 10_000
MAX_GROWTH = 300 * MIB  # what a hostile file may add to the server's resident memory, at most


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with small limits, for the exact boundaries (the upload path has no vector backend)."""
    yield from serve(
        tmp_path_factory.mktemp("server-small-limits"),
        MAX_FILE_BYTES=str(SMALL_MAX_FILE_BYTES),
        MAX_FILE_TEXT_CHARS=str(SMALL_MAX_TEXT_CHARS),
    )


def stored_blobs(server: ServerProcess) -> set[Path]:
    """Every path under the server's blob store (temporary upload files included)."""
    return set((server.data_dir / "files").rglob("*"))


def refused_as_too_large(client: openai.OpenAI, upload: GeneratedFile, max_bytes: int) -> str:
    """The upload is refused with OpenAI's 400; returns the error message."""
    with pytest.raises(openai.BadRequestError) as info:
        client.files.create(file=("huge.bin", upload), purpose="assistants")
    assert info.value.status_code == 400
    error = assert_error_body({"error": info.value.body})
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "file"
    message: str = error["message"]
    assert message.startswith("File is too large. The maximum file size is")
    assert f"({max_bytes} bytes)" in message
    return message


# ------------------------------------------------------------------------------------ big uploads
@pytest.mark.parametrize("sized", [False, True], ids=["streamed-without-length", "with-content-length"])
def test_600_mb_upload_is_refused_at_512_mb_and_leaves_nothing(client, server, sized):
    if server.backend != "pgvector":
        pytest.skip("uploads do not touch the vector backend: once is enough")
    before = stored_blobs(server)
    assert server.pid is not None
    with PeakRss(server.pid) as memory:
        refused_as_too_large(client, GeneratedFile(600 * MIB, sized=sized), MAX_FILE_BYTES)
    assert memory.growth < MAX_GROWTH, f"the server grew by {memory.growth / MIB:.0f} MiB"
    assert client.files.list().data == []  # nothing in the catalog
    assert stored_blobs(server) - before == set()  # nothing on disk, no half-written upload either
    # the server is fine and the tenant can upload
    assert client.files.create(file=("small.txt", b"still here"), purpose="assistants").bytes == 10


@pytest.mark.parametrize("sized", [False, True], ids=["streamed-without-length", "with-content-length"])
def test_exactly_the_limit_is_accepted_one_byte_more_is_not(small_server, sized):
    client = make_client(small_server.base_url)
    accepted = client.files.create(
        file=("limit.bin", GeneratedFile(SMALL_MAX_FILE_BYTES, sized=sized)), purpose="assistants"
    )
    assert accepted.bytes == SMALL_MAX_FILE_BYTES
    assert client.files.content(accepted.id).content == GeneratedFile(SMALL_MAX_FILE_BYTES).read()
    before = stored_blobs(small_server)
    message = refused_as_too_large(client, GeneratedFile(SMALL_MAX_FILE_BYTES + 1, sized=sized), SMALL_MAX_FILE_BYTES)
    assert message.endswith(f"This file has {SMALL_MAX_FILE_BYTES + 1} bytes.")  # spooled whole: its size is known
    assert stored_blobs(small_server) - before == set()
    assert [f.id for f in client.files.list()] == [accepted.id]


def test_body_far_over_the_limit_is_refused_while_streaming(small_server):
    client = make_client(small_server.base_url)
    message = refused_as_too_large(client, GeneratedFile(8 * SMALL_MAX_FILE_BYTES, sized=False), SMALL_MAX_FILE_BYTES)
    assert "This file has" not in message  # reading stopped before the end: the size is not known
    assert client.files.list().data == []


# ------------------------------------------------------------------------------------------ bombs
def attach_bytes(client: openai.OpenAI, store_id: str, filename: str, data: bytes):
    return client.vector_stores.files.upload_and_poll(
        vector_store_id=store_id, file=(filename, data), poll_interval_ms=POLL_MS, max_wait_seconds=MAX_WAIT
    )


@pytest.mark.parametrize(
    ("filename", "make", "reason"),
    [
        ("bomb.docx", lambda: docx_zip_bomb(2 * GIB), "inflates from"),
        ("liar.docx", lambda: docx_zip_bomb(1 * GIB, declared_size=4096), "inflates beyond the 4,096 bytes"),
        ("entries.pptx", lambda: pptx_with_entries(200_000), "its zip directory is"),
        ("bomb.pdf", lambda: pdf_flate_bomb(2 * GIB), "Limit reached while decompressing"),
        ("tags.html", lambda: b"<b>x</b>" * 1_000_000, "it has more than 100,000 elements"),
    ],
    ids=["docx-zip-bomb", "docx-lying-header", "pptx-200k-entries", "pdf-flate-bomb", "html-1m-elements"],
)
def test_bomb_attached_to_a_store_ends_failed_invalid_file(client, server, filename, make, reason):
    store = new_store(client)
    data = make()
    with PeakRss(server.pid) as memory:
        vs_file = attach_bytes(client, store.id, filename, data)
    assert memory.growth < MAX_GROWTH, f"the server grew by {memory.growth / MIB:.0f} MiB"
    assert vs_file.status == "failed"
    assert vs_file.last_error is not None
    assert vs_file.last_error.code == "invalid_file"
    assert vs_file.last_error.message.startswith(f"Could not parse '{filename}' as ")
    assert reason in vs_file.last_error.message
    counts = client.vector_stores.retrieve(store.id).file_counts
    assert (counts.failed, counts.completed, counts.in_progress) == (1, 0, 0)
    # the worker is unharmed: the next file is ingested
    attach_text_completed(client, store.id, "after.txt", "an ordinary file after the bomb")


def test_text_limit_setting_fails_the_file(small_server):
    client = make_client(small_server.base_url)
    store = new_store(client)
    fine = attach_bytes(client, store.id, "fine.txt", b"word " * (SMALL_MAX_TEXT_CHARS // 5))
    assert fine.status == "completed", fine.last_error
    for filename, data in [
        ("long.txt", b"word " * (SMALL_MAX_TEXT_CHARS // 5) + b"more"),
        ("pages.pdf", pdf_flate_bomb(64 * 1024, pages=20)),  # pages sharing one stream: 1.3 M characters
    ]:
        vs_file = attach_bytes(client, store.id, filename, data)
        assert vs_file.status == "failed"
        assert vs_file.last_error is not None
        assert vs_file.last_error.code == "invalid_file"
        assert vs_file.last_error.message == (
            f"File '{filename}' has more than {SMALL_MAX_TEXT_CHARS:,} characters of text, the limit per file."
        )
