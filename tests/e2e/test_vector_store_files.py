"""End-to-end: /v1/vector_stores/{id}/files through the official SDK (strict mode) against a real server.

The `server` fixture uses the deterministic hash embedder; every test gets a fresh tenant.
"""

from __future__ import annotations

import io
import json
import os
import time
import uuid
from functools import partial

import httpx
import openai
import pytest
from tests.support.sdk import (
    MAX_WAIT,
    POLL_MS,
    assert_static,
    attach_text,
    check_store,
    make_client,
    make_pdf,
    new_store,
    raw_json,
    upload,
)
from tests.support.sdk import retrieve_store as _retrieve_store

KNOWN_SENTENCE = "The quick zebra negotiates a peace treaty with the lighthouse keeper."


# --------------------------------------------------------------------------- helpers


def squash(text: str) -> str:
    """Collapse whitespace, so extraction line breaks don't matter."""
    return " ".join(text.split())


def make_image_only_pdf() -> bytes:
    """A PDF with a raster image and shapes but no text at all."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = Image.new("RGB", (64, 64), (200, 30, 30))
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    pdf.drawImage(ImageReader(image), 100, 400, width=200, height=200)
    pdf.rect(100, 100, 200, 150, stroke=1, fill=1)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def make_docx(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Test document", level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def make_pptx(texts: list[str]) -> bytes:
    from pptx import Presentation

    presentation = Presentation()
    for text in texts:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = "Slide title"
        slide.placeholders[1].text = text
    buf = io.BytesIO()
    presentation.save(buf)
    return buf.getvalue()


# Every store read here is also checked not to be expired.
check_store_invariants = partial(check_store, live=True)
retrieve_store = partial(_retrieve_store, live=True)


def wait_store_idle(client, store_id: str, timeout: float = 120):
    """Poll the store (checking invariants on every read) until nothing is in progress."""
    deadline = time.monotonic() + timeout
    while True:
        store = retrieve_store(client, store_id)
        if store.file_counts.in_progress == 0:
            return store
        assert time.monotonic() < deadline, f"store {store_id} still in progress: {store.file_counts}"
        time.sleep(0.2)


def all_files(client, store_id: str, **kwargs) -> list:
    return list(client.vector_stores.files.list(store_id, limit=100, **kwargs))


def search_ids(client, store_id: str, query: str, filters=None) -> list[str]:
    kwargs = {"filters": filters} if filters is not None else {}
    page = client.vector_stores.search(store_id, query=query, max_num_results=50, **kwargs)
    return [hit.file_id for hit in page.data]


def long_text(words: int, seed: str = "alpha") -> str:
    vocabulary = [f"{seed}{i}" for i in range(50)] + ["river", "mountain", "forest", "harbor", "valley"]
    return " ".join(vocabulary[i % len(vocabulary)] for i in range(words)) + "."


# ------------------------------------------------------------------- supported types


def _html() -> bytes:
    return (
        "<!doctype html><html><head><title>Doc</title>"
        "<style>.secretStyleRule { color: red; }</style>"
        "<script>var secretScriptToken = 'do not index me';</script></head>"
        f"<body><h1>Heading</h1><p>{KNOWN_SENTENCE.replace('zebra', '<b>zebra</b>')}</p>"
        "<ul><li>first item</li><li>second item</li></ul></body></html>"
    ).encode()


DOCUMENTS = {
    "txt": ("notes.txt", lambda: f"Some notes.\n\n{KNOWN_SENTENCE}\n\nMore notes.".encode()),
    "md": ("readme.md", lambda: f"# Title\n\n* bullet\n\n{KNOWN_SENTENCE}\n".encode()),
    "html": ("page.html", _html),
    "json": ("data.json", lambda: json.dumps({"title": "doc", "body": KNOWN_SENTENCE, "n": [1, 2]}).encode()),
    "py": ("module.py", lambda: f'"""Module."""\n\n\ndef f():\n    return "{KNOWN_SENTENCE}"\n'.encode()),
    "pdf": ("report.pdf", lambda: make_pdf(["Introduction paragraph.", KNOWN_SENTENCE, "Closing paragraph."])),
    "docx": ("letter.docx", lambda: make_docx(["Opening paragraph.", KNOWN_SENTENCE])),
    "pptx": ("deck.pptx", lambda: make_pptx(["Agenda slide text.", KNOWN_SENTENCE])),
}


@pytest.mark.parametrize("kind", list(DOCUMENTS))
def test_upload_and_poll_supported_type(client, kind):
    filename, build = DOCUMENTS[kind]
    store = new_store(client)
    vs_file = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=(filename, build()), poll_interval_ms=POLL_MS, max_wait_seconds=MAX_WAIT
    )
    assert vs_file.status == "completed", vs_file.last_error
    assert vs_file.last_error is None
    assert vs_file.object == "vector_store.file"
    assert vs_file.vector_store_id == store.id
    assert vs_file.usage_bytes > 0
    assert_static(vs_file, 800, 400)
    assert vs_file.id.startswith("file-")
    assert client.files.retrieve(vs_file.id).filename == filename  # the id is the File's id

    page = client.vector_stores.files.content(vs_file.id, vector_store_id=store.id)
    assert page.object == "vector_store.file_content.page"
    assert page.data and all(part.type == "text" for part in page.data)
    text = "".join(part.text or "" for part in page.data)
    assert KNOWN_SENTENCE in squash(text)
    if kind == "html":
        assert "secretScriptToken" not in text
        assert "secretStyleRule" not in text
        assert "<" not in text and ">" not in text
        assert "first item" in text and "Heading" in text

    store = wait_store_idle(client, store.id)
    assert store.file_counts.completed == 1 and store.file_counts.total == 1
    assert store.usage_bytes == vs_file.usage_bytes
    # The text is searchable.
    hits = client.vector_stores.search(store.id, query="zebra lighthouse keeper treaty")
    assert hits.data and hits.data[0].file_id == vs_file.id


def test_create_and_poll_with_attributes_and_static_chunking(client):
    store = new_store(client)
    text = long_text(3000, "gamma")
    uploaded = upload(client, "long.txt", text)
    attributes = {"team": "search", "year": 2024, "ratio": 0.75, "public": True}
    vs_file = client.vector_stores.files.create_and_poll(
        uploaded.id,
        vector_store_id=store.id,
        attributes=attributes,
        chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50}},
        poll_interval_ms=POLL_MS,
        max_wait_seconds=MAX_WAIT,
    )
    assert vs_file.status == "completed", vs_file.last_error
    assert vs_file.id == uploaded.id
    assert_static(vs_file, 100, 50)
    assert vs_file.attributes == attributes
    assert isinstance(vs_file.attributes["public"], bool)

    # On the wire the types are kept exactly (int stays int, bool stays bool).
    raw = client.vector_stores.files.with_raw_response.retrieve(uploaded.id, vector_store_id=store.id)
    body = raw_json(raw)
    assert body["attributes"] == attributes
    assert type(body["attributes"]["year"]) is int
    assert type(body["attributes"]["ratio"]) is float
    assert body["attributes"]["public"] is True
    assert body["chunking_strategy"] == {
        "type": "static",
        "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50},
    }

    # 100-token windows: many small chunks, each carrying the attributes.
    hits = client.vector_stores.search(store.id, query="gamma1 river", max_num_results=50).data
    assert len(hits) == 50
    assert {hit.file_id for hit in hits} == {uploaded.id}
    assert all(len(hit.content[0].text) < 1000 for hit in hits)
    assert all(hit.attributes == attributes for hit in hits)


def test_attach_twice_returns_existing_object(client):
    store = new_store(client)
    first = attach_text(client, store.id, "a.txt", "alpha beta gamma", attributes={"v": "one"})
    again = client.vector_stores.files.create(vector_store_id=store.id, file_id=first.id, attributes={"v": "two"})
    assert again.id == first.id
    assert again.created_at == first.created_at
    assert again.status == "completed"
    assert again.attributes == {"v": "one"}
    store = wait_store_idle(client, store.id)
    assert store.file_counts.total == 1 and store.file_counts.completed == 1
    assert [f.id for f in all_files(client, store.id)] == [first.id]


# ----------------------------------------------------------------------------- list


def test_list_filter_by_status(client):
    store = new_store(client)
    good = [attach_text(client, store.id, f"good{i}.txt", f"good document number {i}") for i in range(2)]
    bad = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("tool.exe", os.urandom(256)), poll_interval_ms=POLL_MS, max_wait_seconds=MAX_WAIT
    )
    assert bad.status == "failed"
    wait_store_idle(client, store.id)

    assert {f.id for f in all_files(client, store.id, filter="completed")} == {g.id for g in good}
    assert [f.id for f in all_files(client, store.id, filter="failed")] == [bad.id]
    assert all_files(client, store.id, filter="in_progress") == []
    assert all_files(client, store.id, filter="cancelled") == []
    assert len(all_files(client, store.id)) == 3


def test_list_pagination_and_stable_order(client):
    store = new_store(client)
    uploaded = [upload(client, f"doc{i}.txt", f"pagination document {i}") for i in range(5)]
    # Attach quickly: several attachments share a created_at second.
    for file in uploaded:
        client.vector_stores.files.create(vector_store_id=store.id, file_id=file.id)
    attach_order = [f.id for f in uploaded]
    wait_store_idle(client, store.id)

    desc = client.vector_stores.files.list(store.id)
    assert [f.id for f in desc.data] == attach_order[::-1]
    assert desc.has_more is False
    asc = client.vector_stores.files.list(store.id, order="asc")
    assert [f.id for f in asc.data] == attach_order

    for order, expected in (("desc", attach_order[::-1]), ("asc", attach_order)):
        page1 = client.vector_stores.files.list(store.id, limit=2, order=order)
        assert [f.id for f in page1.data] == expected[:2]
        assert page1.has_more is True
        page2 = client.vector_stores.files.list(store.id, limit=2, order=order, after=page1.data[-1].id)
        assert [f.id for f in page2.data] == expected[2:4]
        assert page2.has_more is True
        page3 = client.vector_stores.files.list(store.id, limit=2, order=order, after=page2.data[-1].id)
        assert [f.id for f in page3.data] == expected[4:]
        assert page3.has_more is False
        # before = the previous page, in the list's own order
        back = client.vector_stores.files.list(store.id, limit=2, order=order, before=page2.data[0].id)
        assert [f.id for f in back.data] == expected[:2]
        back = client.vector_stores.files.list(store.id, limit=2, order=order, before=page3.data[0].id)
        assert [f.id for f in back.data] == expected[2:4]
        nothing = client.vector_stores.files.list(store.id, limit=2, order=order, before=expected[0])
        assert nothing.data == []
        # first_id / last_id are returned too
        raw = raw_json(client.vector_stores.files.with_raw_response.list(store.id, limit=2, order=order))
        assert raw["object"] == "list"
        assert raw["first_id"] == expected[0] and raw["last_id"] == expected[1]

    # Auto-pagination follows has_more/after through every page.
    assert [f.id for f in client.vector_stores.files.list(store.id, limit=2)] == attach_order[::-1]
    assert [f.id for f in client.vector_stores.files.list(store.id, limit=1, order="asc")] == attach_order


def test_list_rejects_bad_parameters(client):
    store = new_store(client)
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.files.list(store.id, limit=0)
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.files.list(store.id, limit=101)
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.files.list(store.id, filter="done")  # type: ignore[arg-type]
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.list("vs_doesnotexist")


# --------------------------------------------------------------------------- update


def test_update_attributes_replaces_and_clears(client):
    store = new_store(client)
    vs_file = attach_text(client, store.id, "u.txt", "update attributes document", attributes={"team": "a", "old": 1})
    other = attach_text(client, store.id, "o.txt", "update attributes document other", attributes={"team": "z"})

    updated = client.vector_stores.files.update(vs_file.id, vector_store_id=store.id, attributes={"team": "b", "n": 2})
    assert updated.id == vs_file.id
    assert updated.attributes == {"team": "b", "n": 2}  # replaced, not merged: "old" is gone
    assert client.vector_stores.files.retrieve(vs_file.id, vector_store_id=store.id).attributes == {"team": "b", "n": 2}
    query = "update attributes document"
    assert search_ids(client, store.id, query, {"type": "eq", "key": "team", "value": "b"}) == [vs_file.id]
    assert search_ids(client, store.id, query, {"type": "eq", "key": "team", "value": "a"}) == []
    assert search_ids(client, store.id, query, {"type": "eq", "key": "old", "value": 1}) == []
    hits = client.vector_stores.search(store.id, query=query, filters={"type": "eq", "key": "n", "value": 2}).data
    assert [h.attributes for h in hits] == [{"team": "b", "n": 2}]

    cleared = client.vector_stores.files.update(vs_file.id, vector_store_id=store.id, attributes=None)
    assert cleared.attributes is None
    assert raw_json(
        client.vector_stores.files.with_raw_response.retrieve(vs_file.id, vector_store_id=store.id)
    )["attributes"] is None
    assert search_ids(client, store.id, query, {"type": "eq", "key": "team", "value": "b"}) == []
    # A file without the key is matched by `ne`.
    assert set(search_ids(client, store.id, query, {"type": "ne", "key": "team", "value": "z"})) == {vs_file.id}
    assert set(search_ids(client, store.id, query)) == {vs_file.id, other.id}


def test_update_errors(client):
    store = new_store(client)
    vs_file = attach_text(client, store.id, "u.txt", "some text")
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.files.update(
            vs_file.id, vector_store_id=store.id, attributes={f"k{i}": i for i in range(17)}
        )
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.update("file-missing", vector_store_id=store.id, attributes={"a": "b"})
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.files.update("nope", vector_store_id=store.id, attributes={"a": "b"})
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.update(vs_file.id, vector_store_id="vs_missing", attributes={"a": "b"})
    # attributes is required (nullable, but not omittable)
    with pytest.raises(openai.BadRequestError):
        client.post(
            f"/vector_stores/{store.id}/files/{vs_file.id}", body={}, cast_to=object
        )
    assert client.vector_stores.files.retrieve(vs_file.id, vector_store_id=store.id).attributes is None


# --------------------------------------------------------------------------- delete


def test_detach_keeps_file_and_updates_store(client):
    store = new_store(client)
    keep = attach_text(client, store.id, "keep.txt", "keeper document about orchards and apples")
    gone = attach_text(client, store.id, "gone.txt", "detached document about zeppelins and airships " * 20)
    before = wait_store_idle(client, store.id)
    assert before.file_counts.total == 2
    assert before.usage_bytes == keep.usage_bytes + gone.usage_bytes
    assert gone.id in search_ids(client, store.id, "zeppelins airships")

    deleted = client.vector_stores.files.delete(gone.id, vector_store_id=store.id)
    assert deleted.id == gone.id
    assert deleted.object == "vector_store.file.deleted"
    assert deleted.deleted is True

    assert client.files.retrieve(gone.id).id == gone.id  # the File survives
    after = retrieve_store(client, store.id)
    assert after.file_counts.total == 1 and after.file_counts.completed == 1
    assert after.usage_bytes == keep.usage_bytes
    assert gone.id not in search_ids(client, store.id, "zeppelins airships")
    assert [f.id for f in all_files(client, store.id)] == [keep.id]
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve(gone.id, vector_store_id=store.id)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.delete(gone.id, vector_store_id=store.id)

    # It can be attached again.
    again = client.vector_stores.files.create_and_poll(
        gone.id, vector_store_id=store.id, poll_interval_ms=POLL_MS, max_wait_seconds=MAX_WAIT
    )
    assert again.status == "completed"
    assert gone.id in search_ids(client, store.id, "zeppelins airships")


def test_detach_while_paging_removes_all(client):
    store = new_store(client)
    for i in range(7):
        attach_text(client, store.id, f"p{i}.txt", f"paging document {i}")
    wait_store_idle(client, store.id)
    seen = []
    for vs_file in client.vector_stores.files.list(store.id, limit=2):
        seen.append(vs_file.id)
        client.vector_stores.files.delete(vs_file.id, vector_store_id=store.id)
    assert len(seen) == len(set(seen)) == 7
    final = retrieve_store(client, store.id)
    assert final.file_counts.total == 0
    assert final.usage_bytes == 0
    assert all_files(client, store.id) == []
    assert client.vector_stores.search(store.id, query="paging document").data == []


# ------------------------------------------------------------------------ bad files

BAD_FILES = {
    "exe": ("program.exe", lambda: b"MZ\x90\x00" + os.urandom(512), "unsupported_file"),
    "bin": ("blob.bin", lambda: os.urandom(512), "unsupported_file"),
    "corrupt_pdf": ("x.pdf", lambda: os.urandom(2048), "invalid_file"),
    "truncated_pdf": ("t.pdf", lambda: make_pdf([KNOWN_SENTENCE])[:200], "invalid_file"),
    "corrupt_docx": ("x.docx", lambda: b"PK\x03\x04" + os.urandom(1024), "invalid_file"),
    "corrupt_pptx": ("x.pptx", lambda: os.urandom(1024), "invalid_file"),
    "empty_txt": ("empty.txt", lambda: b"", "invalid_file"),
    "whitespace_md": ("blank.md", lambda: b"   \n\n\t  \n   \r\n", "invalid_file"),
    "image_only_pdf": ("scan.pdf", make_image_only_pdf, "invalid_file"),
    "binary_txt": ("fake.txt", lambda: b"\x00\x01\x02\xff" * 64, "invalid_file"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_file_fails_with_reason(client, kind):
    filename, build, code = BAD_FILES[kind]
    store = new_store(client)
    vs_file = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=(filename, build()), poll_interval_ms=POLL_MS, max_wait_seconds=MAX_WAIT
    )
    assert vs_file.status == "failed"
    assert vs_file.last_error is not None
    assert vs_file.last_error.code == code
    assert vs_file.last_error.message.strip()
    assert vs_file.usage_bytes == 0
    store = wait_store_idle(client, store.id)
    assert store.status == "completed"
    assert store.file_counts.failed == 1 and store.file_counts.total == 1
    page = client.vector_stores.files.content(vs_file.id, vector_store_id=store.id)
    assert page.object == "vector_store.file_content.page"
    assert page.data == []


def test_many_bad_files_are_counted(client):
    store = new_store(client)
    ids = []
    for filename, build, _ in BAD_FILES.values():
        ids.append(upload(client, filename, build()).id)
    for file_id in ids:
        client.vector_stores.files.create(vector_store_id=store.id, file_id=file_id)
    good = attach_text(client, store.id, "good.txt", "a perfectly fine document")
    store = wait_store_idle(client, store.id)
    assert store.status == "completed"
    assert store.file_counts.failed == len(BAD_FILES)
    assert store.file_counts.completed == 1
    assert store.file_counts.total == len(BAD_FILES) + 1
    assert store.usage_bytes == good.usage_bytes
    failed = all_files(client, store.id, filter="failed")
    assert {f.id for f in failed} == set(ids)
    assert all(f.last_error is not None and f.last_error.message for f in failed)


# --------------------------------------------------------------------------- limits


def _attributes_over_limit():
    return {
        "17_keys": {f"k{i}": i for i in range(17)},
        "65_char_key": {"k" * 65: "v"},
        "513_char_value": {"k": "v" * 513},
        "array_value": {"k": ["a", "b"]},
        "object_value": {"k": {"nested": "x"}},
        "null_value": {"k": None},
    }


@pytest.mark.parametrize("case", list(_attributes_over_limit()))
def test_attach_rejects_invalid_attributes(client, case):
    store = new_store(client)
    file = upload(client, "a.txt", "attribute limits")
    with pytest.raises(openai.BadRequestError) as caught:
        client.vector_stores.files.create(
            vector_store_id=store.id, file_id=file.id, attributes=_attributes_over_limit()[case]
        )
    assert caught.value.body["type"] == "invalid_request_error"
    assert caught.value.body["message"]
    assert retrieve_store(client, store.id).file_counts.total == 0


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_attribute_numbers_are_rejected(client, server, number):
    """JSON extensions the SDK refuses to send (so raw HTTP): a 400, never a 500 from jsonb."""
    store = new_store(client)
    vs_file = attach_text(client, store.id, "n.txt", "numbers document")
    other = upload(client, "m.txt", "another document")
    headers = {"Authorization": f"Bearer {client.api_key}", "Content-Type": "application/json"}
    with httpx.Client(base_url=server.base_url + "/v1", headers=headers, timeout=30) as raw:
        for path, body in (
            (f"/vector_stores/{store.id}/files/{vs_file.id}", '{"attributes": {"x": %s}}' % number),
            (f"/vector_stores/{store.id}/files", '{"file_id": "%s", "attributes": {"x": %s}}' % (other.id, number)),
            (f"/vector_stores/{store.id}/file_batches", '{"file_ids": ["%s"], "attributes": {"x": %s}}' % (other.id, number)),
            (
                f"/vector_stores/{store.id}/file_batches",
                '{"files": [{"file_id": "%s", "attributes": {"x": %s}}]}' % (other.id, number),
            ),
        ):
            response = raw.post(path, content=body)
            assert response.status_code == 400, (path, response.text)
            assert response.json()["error"]["type"] == "invalid_request_error"
    assert retrieve_store(client, store.id).file_counts.total == 1
    assert client.vector_stores.files.retrieve(vs_file.id, vector_store_id=store.id).attributes is None


def test_attach_accepts_attributes_at_the_limits(client):
    store = new_store(client)
    file = upload(client, "a.txt", "attribute limits")
    attributes = {f"k{i}": i for i in range(15)}
    attributes["x" * 64] = "v" * 512
    vs_file = client.vector_stores.files.create_and_poll(
        file.id, vector_store_id=store.id, attributes=attributes, poll_interval_ms=POLL_MS, max_wait_seconds=MAX_WAIT
    )
    assert vs_file.status == "completed"
    assert vs_file.attributes == attributes


def test_attach_errors(client, server):
    store = new_store(client)
    file = upload(client, "a.txt", "attach errors")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.create(vector_store_id=store.id, file_id="file-doesnotexist")
    with pytest.raises(openai.BadRequestError) as caught:
        client.vector_stores.files.create(vector_store_id=store.id, file_id="doc-123")
    assert "file-" in caught.value.body["message"]
    with pytest.raises(openai.BadRequestError) as caught:
        client.vector_stores.files.create(vector_store_id=store.id, file_id=file.id, extra_body={"colour": "red"})
    assert "colour" in caught.value.body["message"]
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.create(vector_store_id="vs_doesnotexist", file_id=file.id)
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.files.create(vector_store_id=store.id, file_id=file.id, chunking_strategy={"type": "magic"})  # type: ignore[typeddict-item]
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.files.create(
            vector_store_id=store.id,
            file_id=file.id,
            chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 51}},
        )
    # Another tenant's file is invisible.
    stranger = make_client(server.base_url)
    with pytest.raises(openai.NotFoundError):
        stranger.vector_stores.files.create(vector_store_id=store.id, file_id=file.id)
    other_store = new_store(stranger)
    with pytest.raises(openai.NotFoundError):
        stranger.vector_stores.files.create(vector_store_id=other_store.id, file_id=file.id)
    assert retrieve_store(client, store.id).file_counts.total == 0


# ------------------------------------------------------------ polling and aggregation


def test_poll_after_header_while_in_progress(client):
    store = new_store(client)
    file = upload(client, "big.txt", long_text(60_000, "delta"))  # ~400 KB
    raw = client.vector_stores.files.with_raw_response.create(vector_store_id=store.id, file_id=file.id)
    created = raw.parse()
    assert created.id == file.id
    if created.status == "in_progress":
        assert int(raw.headers["openai-poll-after-ms"]) > 0
    else:  # finished already: no polling hint
        assert "openai-poll-after-ms" not in raw.headers
    done = client.vector_stores.files.poll(file.id, vector_store_id=store.id, poll_interval_ms=POLL_MS, max_wait_seconds=MAX_WAIT)
    assert done.status == "completed"
    raw = client.vector_stores.files.with_raw_response.retrieve(file.id, vector_store_id=store.id)
    assert "openai-poll-after-ms" not in raw.headers


def test_store_status_aggregation(client):
    store = new_store(client)
    small = attach_text(client, store.id, "small.txt", "small settled document")
    big = upload(client, "big.txt", long_text(45_000, "epsilon"))  # ~300 KB
    created = client.vector_stores.files.create(vector_store_id=store.id, file_id=big.id)
    snapshot = retrieve_store(client, store.id)  # invariants checked whatever the timing
    if created.status == "in_progress" and snapshot.file_counts.in_progress:
        assert snapshot.status == "in_progress"
    final = wait_store_idle(client, store.id)
    assert final.status == "completed"
    assert final.file_counts.completed == 2 and final.file_counts.total == 2
    files = all_files(client, store.id)
    assert final.usage_bytes == sum(f.usage_bytes for f in files)
    assert final.usage_bytes == small.usage_bytes + client.vector_stores.files.retrieve(
        big.id, vector_store_id=store.id
    ).usage_bytes


def test_update_attributes_while_processing_reaches_the_chunks(client):
    store = new_store(client)
    big = upload(client, "big.txt", long_text(45_000, "zeta"))
    client.vector_stores.files.create(vector_store_id=store.id, file_id=big.id, attributes={"rev": 1})
    client.vector_stores.files.update(big.id, vector_store_id=store.id, attributes={"rev": 2})
    done = client.vector_stores.files.poll(big.id, vector_store_id=store.id, poll_interval_ms=POLL_MS, max_wait_seconds=MAX_WAIT)
    assert done.status == "completed"
    assert done.attributes == {"rev": 2}
    assert search_ids(client, store.id, "zeta1 river", {"type": "eq", "key": "rev", "value": 1}) == []
    hits = client.vector_stores.search(
        store.id, query="zeta1 river", max_num_results=50, filters={"type": "eq", "key": "rev", "value": 2}
    ).data
    assert hits and {h.file_id for h in hits} == {big.id}
    assert all(h.attributes == {"rev": 2} for h in hits)


@pytest.mark.parametrize("how", ["detach", "delete_file"])
def test_removing_a_file_while_processing(client, how):
    store = new_store(client)
    keep = attach_text(client, store.id, "keep.txt", "a small file that stays")
    big = upload(client, "big.txt", long_text(45_000, "theta"))
    client.vector_stores.files.create(vector_store_id=store.id, file_id=big.id)
    if how == "detach":
        client.vector_stores.files.delete(big.id, vector_store_id=store.id)
    else:
        client.files.delete(big.id)
    store_now = wait_store_idle(client, store.id)
    assert store_now.file_counts.total == 1
    assert [f.id for f in all_files(client, store.id)] == [keep.id]
    # A worker that was mid-file must not leave chunks (or usage) behind.
    deadline = time.monotonic() + 30
    while big.id in search_ids(client, store.id, "theta1 river valley"):
        assert time.monotonic() < deadline, "chunks of a removed file are still searchable"
        time.sleep(0.5)
    time.sleep(2)
    assert big.id not in search_ids(client, store.id, "theta1 river valley")
    final = retrieve_store(client, store.id)
    assert final.file_counts.total == 1
    assert final.usage_bytes == keep.usage_bytes


def test_store_create_with_file_ids(client):
    files = [upload(client, f"c{i}.txt", f"created with store {i}") for i in range(3)]
    store = client.vector_stores.create(
        name="with files",
        file_ids=[f.id for f in files],
        chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 0}},
    )
    check_store_invariants(store)
    assert store.file_counts.total == 3
    store = wait_store_idle(client, store.id)
    assert store.file_counts.completed == 3
    for vs_file in all_files(client, store.id):
        assert_static(vs_file, 200, 0)


def test_file_delete_cascades_to_store(client):
    store = new_store(client)
    keep = attach_text(client, store.id, "k.txt", "keep this document")
    gone = attach_text(client, store.id, "g.txt", "cascade quokka document")
    deleted = client.files.delete(gone.id)
    assert deleted.deleted is True and deleted.object == "file"
    after = retrieve_store(client, store.id)
    assert after.file_counts.total == 1
    assert after.usage_bytes == keep.usage_bytes
    assert gone.id not in search_ids(client, store.id, "cascade quokka")


def test_unique_ids_per_store(client):
    """The same File attached to two stores is one vector store file in each."""
    first, second = new_store(client, "one"), new_store(client, "two")
    file = upload(client, "shared.txt", "shared between two stores " + uuid.uuid4().hex)
    a = client.vector_stores.files.create_and_poll(file.id, vector_store_id=first.id, max_wait_seconds=MAX_WAIT)
    b = client.vector_stores.files.create_and_poll(file.id, vector_store_id=second.id, max_wait_seconds=MAX_WAIT)
    assert a.id == b.id == file.id
    assert (a.vector_store_id, b.vector_store_id) == (first.id, second.id)
    client.vector_stores.files.delete(file.id, vector_store_id=first.id)
    assert retrieve_store(client, first.id).file_counts.total == 0
    assert retrieve_store(client, second.id).file_counts.total == 1
    assert search_ids(client, second.id, "shared between two stores") == [file.id]
