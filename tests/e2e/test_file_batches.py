"""End-to-end: /v1/vector_stores/{id}/file_batches through the official SDK (strict mode)."""

from __future__ import annotations

import os
import time

import openai
import pytest
from tests.support.sdk import (
    POLL_MS,
    assert_static,
    check_counts,
    make_client,
    new_store,
    retrieve_store,
    upload,
    wait_until,
)

# --------------------------------------------------------------------------- helpers


def upload_texts(client, count: int, prefix: str = "doc") -> list:
    return [upload(client, f"{prefix}{i}.txt", f"{prefix} batch document number {i}") for i in range(count)]


def batch_files(client, store_id: str, batch_id: str, **kwargs) -> list:
    return list(client.vector_stores.file_batches.list_files(batch_id, vector_store_id=store_id, limit=100, **kwargs))


def filename_of(client, file_id: str) -> str:
    return client.files.retrieve(file_id).filename


# ---------------------------------------------------------------------------- create


def test_create_and_poll_with_file_ids_and_shared_attributes(client):
    store = new_store(client)
    files = upload_texts(client, 4)
    attributes = {"source": "batch", "priority": 3, "weight": 0.5, "active": True}
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id,
        file_ids=[f.id for f in files],
        attributes=attributes,
        chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 300, "chunk_overlap_tokens": 100}},
        poll_interval_ms=POLL_MS,
    )
    assert batch.id.startswith("vsfb_")
    assert batch.object == "vector_store.files_batch"
    assert batch.vector_store_id == store.id
    assert batch.status == "completed"
    counts = batch.file_counts
    check_counts(counts)
    assert (counts.in_progress, counts.completed, counts.failed, counts.cancelled, counts.total) == (0, 4, 0, 0, 4)

    again = client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id)
    assert again.id == batch.id and again.status == "completed" and again.created_at == batch.created_at

    members = batch_files(client, store.id, batch.id)
    assert {m.id for m in members} == {f.id for f in files}
    for member in members:
        assert member.status == "completed"
        assert member.attributes == attributes
        assert_static(member, 300, 100)
    store = retrieve_store(client, store.id)
    assert store.file_counts.completed == 4 and store.status == "completed"
    hits = client.vector_stores.search(
        store.id, query="batch document", max_num_results=50, filters={"type": "eq", "key": "priority", "value": 3}
    ).data
    assert {h.file_id for h in hits} == {f.id for f in files}


def test_create_and_poll_with_per_file_values(client):
    store = new_store(client)
    first, second, third = upload_texts(client, 3)
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id,
        files=[
            {
                "file_id": first.id,
                "attributes": {"team": "red", "n": 1},
                "chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}},
            },
            {"file_id": second.id, "attributes": {"team": "blue"}},
            {"file_id": third.id},
        ],
        # Top-level values are ignored when `files` is given.
        attributes={"top": "level"},
        chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 500, "chunk_overlap_tokens": 250}},
        poll_interval_ms=POLL_MS,
    )
    assert batch.status == "completed"
    assert batch.file_counts.completed == 3 and batch.file_counts.total == 3 and batch.file_counts.in_progress == 0

    by_id = {m.id: m for m in batch_files(client, store.id, batch.id)}
    assert by_id[first.id].attributes == {"team": "red", "n": 1}
    assert_static(by_id[first.id], 100, 0)
    assert by_id[second.id].attributes == {"team": "blue"}
    assert_static(by_id[second.id], 800, 400)
    assert by_id[third.id].attributes is None
    assert_static(by_id[third.id], 800, 400)


def test_duplicate_ids_in_a_batch_count_once(client):
    store = new_store(client)
    a, b = upload_texts(client, 2)
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=[a.id, b.id, a.id], poll_interval_ms=POLL_MS
    )
    assert batch.file_counts.total == 2 and batch.file_counts.completed == 2
    assert retrieve_store(client, store.id).file_counts.total == 2


def test_upload_and_poll_mixed_good_and_bad(client):
    store = new_store(client)
    good = {"good1.txt": b"a good plain text file", "good2.md": b"# Good\n\nmarkdown file", "good3.py": b"x = 1\n"}
    bad = {"bad.exe": b"MZ" + os.urandom(300), "empty.txt": b"", "broken.pdf": os.urandom(500)}
    batch = client.vector_stores.file_batches.upload_and_poll(
        store.id, files=[(name, data) for name, data in {**good, **bad}.items()], poll_interval_ms=POLL_MS
    )
    assert batch.object == "vector_store.files_batch"
    counts = batch.file_counts
    check_counts(counts)
    assert (counts.in_progress, counts.completed, counts.failed, counts.cancelled, counts.total) == (0, 3, 3, 0, 6)
    assert batch.status == "completed"  # a partly failed batch still completes

    failed = batch_files(client, store.id, batch.id, filter="failed")
    assert {filename_of(client, f.id) for f in failed} == set(bad)
    codes = {filename_of(client, f.id): f.last_error.code for f in failed}
    assert codes == {"bad.exe": "unsupported_file", "empty.txt": "invalid_file", "broken.pdf": "invalid_file"}
    completed = batch_files(client, store.id, batch.id, filter="completed")
    assert {filename_of(client, f.id) for f in completed} == set(good)
    assert batch_files(client, store.id, batch.id, filter="in_progress") == []
    assert batch_files(client, store.id, batch.id, filter="cancelled") == []

    store = retrieve_store(client, store.id)
    assert store.status == "completed"
    assert store.file_counts.failed == 3 and store.file_counts.completed == 3


def test_batch_includes_existing_files_of_the_store(client):
    store = new_store(client)
    a, b = upload_texts(client, 2)
    client.vector_stores.files.create_and_poll(a.id, vector_store_id=store.id, max_wait_seconds=60)
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=[a.id, b.id], poll_interval_ms=POLL_MS
    )
    assert batch.file_counts.total == 2 and batch.file_counts.completed == 2
    assert retrieve_store(client, store.id).file_counts.total == 2


# ------------------------------------------------------------------------ list_files


def test_list_files_pagination(client):
    store = new_store(client)
    files = upload_texts(client, 5)
    ids = [f.id for f in files]
    batch = client.vector_stores.file_batches.create_and_poll(vector_store_id=store.id, file_ids=ids, poll_interval_ms=POLL_MS)
    # Another batch in the same store must not leak into this one's list.
    other = upload_texts(client, 2, prefix="other")
    client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=[f.id for f in other], poll_interval_ms=POLL_MS
    )

    list_files = client.vector_stores.file_batches.list_files
    for order, expected in (("asc", ids), ("desc", ids[::-1])):
        page1 = list_files(batch.id, vector_store_id=store.id, limit=2, order=order)
        assert [f.id for f in page1.data] == expected[:2] and page1.has_more is True
        page2 = list_files(batch.id, vector_store_id=store.id, limit=2, order=order, after=page1.data[-1].id)
        assert [f.id for f in page2.data] == expected[2:4] and page2.has_more is True
        page3 = list_files(batch.id, vector_store_id=store.id, limit=2, order=order, after=page2.data[-1].id)
        assert [f.id for f in page3.data] == expected[4:] and page3.has_more is False
        back = list_files(batch.id, vector_store_id=store.id, limit=2, order=order, before=page3.data[0].id)
        assert [f.id for f in back.data] == expected[2:4]
        # auto-pagination
        assert [f.id for f in list_files(batch.id, vector_store_id=store.id, limit=2, order=order)] == expected

    assert [f.id for f in list_files(batch.id, vector_store_id=store.id)] == ids[::-1]  # default desc
    assert len(list(client.vector_stores.files.list(store.id, limit=100))) == 7


# ---------------------------------------------------------------------------- cancel


def test_cancel_in_progress_batch(client):
    store = new_store(client)
    marker = "quokkacancelmarker"
    body = " ".join(f"{marker} paragraph {i} about slow ingestion and patient workers." for i in range(4000))
    files = [upload(client, f"large{i}.txt", f"File {i}. {body}") for i in range(30)]  # ~300 KB each
    ids = [f.id for f in files]

    batch = client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=ids)
    cancelled = client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    assert cancelled.id == batch.id
    assert cancelled.object == "vector_store.files_batch"
    assert cancelled.status == "cancelled"
    counts = cancelled.file_counts
    check_counts(counts)
    assert counts.in_progress == 0
    assert counts.cancelled > 0
    assert counts.total == 30
    # The SDK's poll ends at once (it watches file_counts.in_progress only).
    polled = client.vector_stores.file_batches.poll(batch.id, vector_store_id=store.id, poll_interval_ms=POLL_MS)
    assert polled.status == "cancelled" and polled.file_counts.in_progress == 0

    cancelled_ids = {f.id for f in batch_files(client, store.id, batch.id, filter="cancelled")}
    assert len(cancelled_ids) == counts.cancelled
    for vs_file in batch_files(client, store.id, batch.id, filter="cancelled"):
        assert vs_file.usage_bytes == 0

    def no_cancelled_hits() -> bool:
        hits = client.vector_stores.search(store.id, query=marker, max_num_results=50).data
        return not any(hit.file_id in cancelled_ids for hit in hits)

    # Workers that were mid-file drop what they indexed; give them a moment, then check it stays clean.
    wait_until(no_cancelled_hits, timeout=60, what="cancelled files to leave the index")
    time.sleep(3)
    assert no_cancelled_hits()

    final = client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id)
    assert final.status == "cancelled"
    assert final.file_counts.in_progress == 0
    assert final.file_counts.cancelled == counts.cancelled
    store_now = retrieve_store(client, store.id)
    assert store_now.status == "completed"
    assert store_now.file_counts.in_progress == 0
    assert store_now.file_counts.cancelled == counts.cancelled
    # No cancelled file is ever resurrected by a late worker.
    assert {f.id for f in batch_files(client, store.id, batch.id, filter="cancelled")} == cancelled_ids
    completed_usage = sum(f.usage_bytes for f in batch_files(client, store.id, batch.id, filter="completed"))
    assert store_now.usage_bytes == completed_usage


def test_cancel_part_way_keeps_completed_files(client):
    store = new_store(client)
    marker = "wombatpartialmarker"
    body = " ".join(f"{marker} section {i} on incremental indexing." for i in range(4000))
    ids = [upload(client, f"part{i}.txt", f"Part {i}. {body}").id for i in range(30)]
    batch = client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=ids)
    wait_until(
        lambda: client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id).file_counts.completed,
        timeout=120,
        interval=0.1,
        what="a first completed file",
    )
    result = client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    counts = result.file_counts
    check_counts(counts)
    assert counts.in_progress == 0 and counts.total == 30
    assert counts.completed >= 1
    if counts.cancelled == 0:  # everything finished before the cancel arrived
        assert result.status == "completed"
        return
    assert result.status == "cancelled"
    assert counts.completed + counts.cancelled + counts.failed == 30

    completed_ids = {f.id for f in batch_files(client, store.id, batch.id, filter="completed")}
    cancelled_ids = {f.id for f in batch_files(client, store.id, batch.id, filter="cancelled")}
    assert len(completed_ids) == counts.completed and len(cancelled_ids) == counts.cancelled

    def clean_hits():
        hits = client.vector_stores.search(store.id, query=marker, max_num_results=50).data
        found = {hit.file_id for hit in hits}
        return found if not found & cancelled_ids else None

    found = wait_until(clean_hits, timeout=60, what="cancelled files to leave the index")
    assert found <= completed_ids and found  # completed files stay searchable
    time.sleep(3)
    assert clean_hits() is not None
    store_now = retrieve_store(client, store.id)
    assert store_now.file_counts.completed == counts.completed
    assert store_now.file_counts.cancelled == counts.cancelled


def test_cancel_completed_batch_is_a_no_op(client):
    store = new_store(client)
    files = upload_texts(client, 2)
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=[f.id for f in files], poll_interval_ms=POLL_MS
    )
    assert batch.status == "completed"
    after = client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    assert after.status == "completed"
    assert after.file_counts == batch.file_counts
    assert client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id).status == "completed"


# ---------------------------------------------------------------------------- limits


def test_batch_request_validation(client):
    store = new_store(client)
    files = upload_texts(client, 2)
    create = client.vector_stores.file_batches.create
    with pytest.raises(openai.BadRequestError):
        create(vector_store_id=store.id, file_ids=[])
    with pytest.raises(openai.BadRequestError):
        create(vector_store_id=store.id, files=[])
    with pytest.raises(openai.BadRequestError):
        create(vector_store_id=store.id, file_ids=[files[0].id], files=[{"file_id": files[1].id}])
    with pytest.raises(openai.BadRequestError):
        create(vector_store_id=store.id)
    with pytest.raises(openai.BadRequestError):
        create(vector_store_id=store.id, file_ids=[f"file-{i:06d}" for i in range(2001)])
    with pytest.raises(openai.BadRequestError):
        create(vector_store_id=store.id, file_ids=["doc-1"])
    with pytest.raises(openai.BadRequestError):
        create(vector_store_id=store.id, file_ids=[files[0].id], attributes={f"k{i}": i for i in range(17)})
    with pytest.raises(openai.BadRequestError):
        create(vector_store_id=store.id, file_ids=[files[0].id], extra_body={"unknown_field": 1})
    with pytest.raises(openai.NotFoundError):
        create(vector_store_id="vs_doesnotexist", file_ids=[files[0].id])
    assert retrieve_store(client, store.id).file_counts.total == 0


def test_batch_with_missing_file_attaches_nothing(client):
    store = new_store(client)
    existing = upload_texts(client, 1)[0]
    client.vector_stores.files.create_and_poll(existing.id, vector_store_id=store.id, max_wait_seconds=60)
    files = upload_texts(client, 2, prefix="more")
    with pytest.raises(openai.NotFoundError) as caught:
        client.vector_stores.file_batches.create(
            vector_store_id=store.id, file_ids=[files[0].id, "file-doesnotexist", files[1].id]
        )
    assert "file-doesnotexist" in caught.value.body["message"]
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.file_batches.create(
            vector_store_id=store.id, files=[{"file_id": files[0].id}, {"file_id": "file-alsomissing"}]
        )
    store = retrieve_store(client, store.id)
    assert store.file_counts.total == 1
    assert [f.id for f in client.vector_stores.files.list(store.id)] == [existing.id]


def test_batch_id_errors(client, server):
    store = new_store(client)
    batches = client.vector_stores.file_batches
    with pytest.raises(openai.BadRequestError) as caught:
        batches.retrieve("vs_notabatch", vector_store_id=store.id)
    assert "Expected an ID that begins with 'vsfb_'" in caught.value.body["message"]
    with pytest.raises(openai.BadRequestError) as caught:
        batches.cancel("batch_123", vector_store_id=store.id)
    assert "Expected an ID that begins with 'vsfb_'" in caught.value.body["message"]
    with pytest.raises(openai.BadRequestError):
        batches.list_files("file-123", vector_store_id=store.id)
    for call in (batches.retrieve, batches.cancel, batches.list_files):
        with pytest.raises(openai.NotFoundError):
            call("vsfb_doesnotexist", vector_store_id=store.id)

    # A batch is only visible in its own store and to its own tenant.
    files = upload_texts(client, 1)
    batch = batches.create_and_poll(vector_store_id=store.id, file_ids=[files[0].id], poll_interval_ms=POLL_MS)
    other_store = new_store(client, "other")
    with pytest.raises(openai.NotFoundError):
        batches.retrieve(batch.id, vector_store_id=other_store.id)
    stranger = make_client(server.base_url)
    with pytest.raises(openai.NotFoundError):
        stranger.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id)
    with pytest.raises(openai.NotFoundError):
        stranger.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
