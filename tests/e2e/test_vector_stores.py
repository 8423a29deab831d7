"""End to end: /v1/vector_stores (the stores themselves) through the official SDK in strict mode."""

from __future__ import annotations

import re
import time

import openai
import pytest
from tests.support.db import db_execute
from tests.support.sdk import attach, raw_json, upload, wait_until

DAY = 86_400

# ------------------------------------------------------------------ helpers


def wait_store_completed(client, store_id: str, timeout: float = 60.0):
    def done():
        store = client.vector_stores.retrieve(store_id)
        return store if store.status == "completed" and store.file_counts.in_progress == 0 else None

    return wait_until(done, timeout, what=f"vector store {store_id} to complete")


def extra(model, name: str):
    """A field the SDK model does not declare (kept because models allow extras)."""
    assert model.model_extra is not None and name in model.model_extra, (name, model.model_extra)
    return model.model_extra[name]




# ------------------------------------------------------------------ create


def test_create_with_everything(client):
    now = int(time.time())
    vs = client.vector_stores.create(
        name="docs",
        description="product documentation",
        metadata={"team": "search", "env": "test"},
        expires_after={"anchor": "last_active_at", "days": 7},
    )
    assert vs.id.startswith("vs_")
    assert vs.object == "vector_store"
    assert vs.name == "docs"
    assert extra(vs, "description") == "product documentation"
    assert vs.description == "product documentation"
    assert vs.metadata == {"team": "search", "env": "test"}
    assert vs.status == "completed"
    assert vs.usage_bytes == 0
    fc = vs.file_counts
    assert (fc.in_progress, fc.completed, fc.failed, fc.cancelled, fc.total) == (0, 0, 0, 0, 0)
    assert now - 1 <= vs.created_at <= int(time.time()) + 1
    assert vs.last_active_at is not None and now - 1 <= vs.last_active_at <= int(time.time()) + 1
    assert vs.expires_after is not None
    assert vs.expires_after.anchor == "last_active_at"
    assert vs.expires_after.days == 7
    assert vs.expires_at == vs.last_active_at + 7 * DAY
    assert isinstance(vs._request_id, str) and vs._request_id


def test_create_with_no_arguments(client):
    vs = client.vector_stores.create()
    assert vs.name == ""
    assert extra(vs, "description") is None
    assert vs.metadata is None
    assert vs.expires_after is None
    assert vs.expires_at is None
    assert vs.status == "completed"
    assert vs.file_counts.total == 0
    # the raw body really carries a string name, never null
    raw = raw_json(client.vector_stores.with_raw_response.retrieve(vs.id))
    assert raw["name"] == ""
    assert raw["description"] is None


def test_create_with_file_ids(client):
    a = upload(client, "a.txt", "Alpha document about the northern mountains and their glaciers.")
    b = upload(client, "b.txt", "Beta document about desert oases and camel caravans.")
    raw = client.vector_stores.with_raw_response.create(name="with files", file_ids=[a.id, b.id])
    vs = raw.parse()
    assert vs.file_counts.total == 2
    assert vs.file_counts.in_progress + vs.file_counts.completed == 2
    if vs.status == "in_progress":
        assert int(raw.headers["openai-poll-after-ms"]) > 0
    else:
        assert vs.status == "completed"

    done = wait_store_completed(client, vs.id)
    assert done.file_counts.completed == 2
    assert done.file_counts.total == 2
    assert done.file_counts.in_progress == 0
    assert done.usage_bytes > 0
    listed = {f.id for f in client.vector_stores.files.list(vs.id)}
    assert listed == {a.id, b.id}
    # a completed store carries no polling hint
    again = client.vector_stores.with_raw_response.retrieve(vs.id)
    assert "openai-poll-after-ms" not in again.headers


def test_poll_after_header_on_in_progress_store(client):
    """Many files make it very likely that the create response is still in progress."""
    files = [upload(client, f"f{i}.txt", f"document number {i} " * 200).id for i in range(12)]
    raw = client.vector_stores.with_raw_response.create(file_ids=files)
    vs = raw.parse()
    assert vs.file_counts.total == 12
    seen_in_progress = False
    if vs.status == "in_progress":
        seen_in_progress = True
        assert int(raw.headers["openai-poll-after-ms"]) > 0
    r = client.vector_stores.with_raw_response.retrieve(vs.id)
    if r.parse().status == "in_progress":
        seen_in_progress = True
        assert int(r.headers["openai-poll-after-ms"]) > 0
    if not seen_in_progress:
        pytest.skip("store completed before any in_progress response could be observed")
    wait_store_completed(client, vs.id)


def test_create_with_missing_file_id_is_404(client):
    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.create(file_ids=["file-doesnotexist"])
    assert info.value.body["message"] == "No file found with id 'file-doesnotexist'."
    assert [s.id for s in client.vector_stores.list()] == []


def test_embedding_extension_fields(client):
    vs = client.vector_stores.create(extra_body={"embedding_model": "hash-v1", "embedding_dimension": 64})
    assert extra(vs, "embedding_dimension") == 64
    assert extra(vs, "embedding_model") == "hash-v1"
    again = client.vector_stores.retrieve(vs.id)
    assert extra(again, "embedding_dimension") == 64
    # a store with its own dimension ingests and searches fine
    f = upload(client, "dim.txt", "Sixty four dimensional embeddings of a lighthouse on the coast.")
    attach(client, vs.id, f.id)
    hits = client.vector_stores.search(vs.id, query="lighthouse coast")
    assert [h.file_id for h in hits.data] == [f.id]


# --------------------------------------------------- retrieve/update/delete


def test_retrieve(client):
    vs = client.vector_stores.create(name="r", metadata={"k": "v"})
    got = client.vector_stores.retrieve(vs.id)
    assert got.id == vs.id
    assert got.name == "r"
    assert got.metadata == {"k": "v"}
    assert got.created_at == vs.created_at


def test_update_name_and_metadata(client):
    vs = client.vector_stores.create(name="old", metadata={"a": "1", "b": "2"})
    up = client.vector_stores.update(vs.id, name="new", metadata={"c": "3"})
    assert up.name == "new"
    assert up.metadata == {"c": "3"}  # replaced, not merged
    got = client.vector_stores.retrieve(vs.id)
    assert got.name == "new"
    assert got.metadata == {"c": "3"}

    # omitted fields stay unchanged
    up2 = client.vector_stores.update(vs.id, metadata={"d": "4"})
    assert up2.name == "new"
    assert up2.metadata == {"d": "4"}


def test_update_with_nulls(client):
    vs = client.vector_stores.create(
        name="named", metadata={"a": "1"}, expires_after={"anchor": "last_active_at", "days": 3}
    )
    assert vs.expires_at is not None

    cleared = client.vector_stores.update(vs.id, metadata=None)
    assert cleared.metadata is None
    assert cleared.name == "named"
    assert cleared.expires_after is not None and cleared.expires_after.days == 3

    no_expiry = client.vector_stores.update(vs.id, expires_after=None)
    assert no_expiry.expires_after is None
    assert no_expiry.expires_at is None

    unnamed = client.vector_stores.update(vs.id, name=None)
    assert unnamed.name == ""
    raw = raw_json(client.vector_stores.with_raw_response.retrieve(vs.id))
    assert raw["name"] == ""
    assert raw["metadata"] is None
    assert raw["expires_at"] is None


def test_update_sets_expiry(client):
    vs = client.vector_stores.create(name="x")
    up = client.vector_stores.update(vs.id, expires_after={"anchor": "last_active_at", "days": 2})
    assert up.expires_after is not None and up.expires_after.days == 2
    assert up.last_active_at is not None
    assert up.expires_at == up.last_active_at + 2 * DAY


def test_delete_store_keeps_files(client):
    f = upload(client, "kept.txt", "this file outlives its store")
    vs = client.vector_stores.create(name="doomed")
    attach(client, vs.id, f.id)
    deleted = client.vector_stores.delete(vs.id)
    assert deleted.id == vs.id
    assert deleted.object == "vector_store.deleted"
    assert deleted.deleted is True

    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.retrieve(vs.id)
    assert info.value.body["message"] == f"No vector store found with id '{vs.id}'."
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.delete(vs.id)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.list(vs.id)

    kept = client.files.retrieve(f.id)
    assert kept.id == f.id
    assert client.files.content(f.id).read() == b"this file outlives its store"
    assert [s.id for s in client.vector_stores.list()] == []


# -------------------------------------------------------------------- list


@pytest.fixture
def five_stores(client):
    return [client.vector_stores.create(name=f"store {i}").id for i in range(5)]


def test_list_desc_pages_with_after(client, five_stores):
    s = five_stores
    raw = client.vector_stores.with_raw_response.list(limit=2, order="desc")
    body = raw_json(raw)
    assert body["object"] == "list"
    assert [d["id"] for d in body["data"]] == [s[4], s[3]]
    assert body["first_id"] == s[4] and body["last_id"] == s[3]
    assert body["has_more"] is True

    body = raw_json(client.vector_stores.with_raw_response.list(limit=2, order="desc", after=s[3]))
    assert [d["id"] for d in body["data"]] == [s[2], s[1]]
    assert body["first_id"] == s[2] and body["last_id"] == s[1]
    assert body["has_more"] is True

    body = raw_json(client.vector_stores.with_raw_response.list(limit=2, order="desc", after=s[1]))
    assert [d["id"] for d in body["data"]] == [s[0]]
    assert body["first_id"] == s[0] and body["last_id"] == s[0]
    assert body["has_more"] is False

    body = raw_json(client.vector_stores.with_raw_response.list(limit=2, order="desc", after=s[0]))
    assert body["data"] == []
    assert body["first_id"] is None and body["last_id"] is None
    assert body["has_more"] is False

    # the SDK page object exposes the same values
    page = client.vector_stores.list(limit=2)
    assert [v.id for v in page.data] == [s[4], s[3]]
    assert page.has_more is True
    assert page.first_id == s[4]
    assert page.last_id == s[3]


def test_list_before_returns_preceding_items_in_list_order(client, five_stores):
    s = five_stores
    # desc list: s4 s3 s2 s1 s0
    page = client.vector_stores.list(limit=2, order="desc", before=s[1])
    assert [v.id for v in page.data] == [s[3], s[2]]
    page = client.vector_stores.list(limit=2, order="desc", before=s[3])
    assert [v.id for v in page.data] == [s[4]]
    page = client.vector_stores.list(limit=10, order="desc", before=s[0])
    assert [v.id for v in page.data] == [s[4], s[3], s[2], s[1]]
    assert client.vector_stores.list(order="desc", before=s[4]).data == []
    # asc list: s0 s1 s2 s3 s4
    page = client.vector_stores.list(limit=2, order="asc", before=s[3])
    assert [v.id for v in page.data] == [s[1], s[2]]
    page = client.vector_stores.list(limit=2, order="asc", before=s[1])
    assert [v.id for v in page.data] == [s[0]]
    body = raw_json(client.vector_stores.with_raw_response.list(limit=2, order="asc", before=s[3]))
    assert body["first_id"] == s[1] and body["last_id"] == s[2]
    # after + before together: the window between them
    page = client.vector_stores.list(order="desc", after=s[4], before=s[0])
    assert [v.id for v in page.data] == [s[3], s[2], s[1]]


def test_list_asc(client, five_stores):
    s = five_stores
    page = client.vector_stores.list(limit=3, order="asc")
    assert [v.id for v in page.data] == s[:3]
    assert page.has_more is True
    page = client.vector_stores.list(limit=3, order="asc", after=s[2])
    assert [v.id for v in page.data] == s[3:]
    assert page.has_more is False
    assert [v.id for v in client.vector_stores.list().data] == s[::-1]  # default desc


def test_list_auto_pagination(client, five_stores):
    s = five_stores
    seen = [v.id for v in client.vector_stores.list(limit=2)]
    assert seen == s[::-1]
    assert [v.id for v in client.vector_stores.list(limit=2, order="asc")] == s


def test_list_survives_deleting_the_cursor(client, five_stores):
    s = five_stores
    client.vector_stores.delete(s[3])
    page = client.vector_stores.list(limit=2, after=s[3])
    assert [v.id for v in page.data] == [s[2], s[1]]
    seen = []
    for vs in client.vector_stores.list(limit=2):
        client.vector_stores.delete(vs.id)
        seen.append(vs.id)
    assert seen == [s[4], s[2], s[1], s[0]]
    assert client.vector_stores.list().data == []


# ------------------------------------------------------------------ expiry


def test_store_expiry(client, server):
    a = upload(client, "a.txt", "Aardvarks dig burrows at night.")
    b = upload(client, "b.txt", "Beavers build dams across rivers.")
    vs = client.vector_stores.create(name="short-lived", expires_after={"anchor": "last_active_at", "days": 1})
    attach(client, vs.id, a.id)
    assert client.vector_stores.retrieve(vs.id).file_counts.total == 1

    moved = db_execute(
        server, "UPDATE vector_stores SET last_active_at = last_active_at - %s WHERE id = %s", (2 * DAY, vs.id)
    )
    assert moved == 1

    expired = client.vector_stores.retrieve(vs.id)
    assert expired.status == "expired"
    assert expired.expires_at is not None and expired.expires_at <= int(time.time())

    with pytest.raises(openai.BadRequestError) as info:
        client.vector_stores.search(vs.id, query="aardvarks")
    assert info.value.status_code == 400
    assert re.search(rf"Vector store '{re.escape(vs.id)}' has expired", info.value.body["message"])

    with pytest.raises(openai.BadRequestError) as attach_info:
        client.vector_stores.files.create(vector_store_id=vs.id, file_id=b.id)
    assert "has expired" in attach_info.value.body["message"]

    swept = wait_until(
        lambda: (lambda s: s if s.file_counts.total == 0 else None)(client.vector_stores.retrieve(vs.id)),
        timeout=30,
        what="the expiry sweep to detach the files",
    )
    assert swept.status == "expired"
    assert swept.usage_bytes == 0
    assert client.vector_stores.files.list(vs.id).data == []
    # the Files themselves survive
    assert client.files.retrieve(a.id).id == a.id
    assert client.files.retrieve(b.id).id == b.id
    # the expired store is still listed
    assert [s.id for s in client.vector_stores.list()] == [vs.id]
    # and can still be deleted
    assert client.vector_stores.delete(vs.id).deleted is True
    assert client.vector_stores.list().data == []
    assert client.files.retrieve(a.id).id == a.id


def test_search_updates_last_active_at(client, server):
    f = upload(client, "active.txt", "Lighthouses guide ships along rocky coasts.")
    vs = client.vector_stores.create(name="active", expires_after={"anchor": "last_active_at", "days": 1})
    attach(client, vs.id, f.id)
    db_execute(server, "UPDATE vector_stores SET last_active_at = last_active_at - 100 WHERE id = %s", (vs.id,))
    stale = client.vector_stores.retrieve(vs.id)
    assert stale.last_active_at is not None and stale.last_active_at <= int(time.time()) - 95

    searched_at = int(time.time())
    hits = client.vector_stores.search(vs.id, query="lighthouse ships")
    assert [h.file_id for h in hits.data] == [f.id]

    fresh = client.vector_stores.retrieve(vs.id)
    assert fresh.last_active_at is not None
    assert searched_at - 1 <= fresh.last_active_at <= int(time.time()) + 1
    assert fresh.expires_at == fresh.last_active_at + DAY


def test_each_store_keeps_the_backend_it_was_created_on(client, server):
    """`provider_id` (OGX's extension field) picks the backend when both are configured."""
    default = client.vector_stores.create(name="default")
    assert default.model_extra["provider_id"] == server.backend
    if server.backend == "pgvector":  # this server has no OpenSearch configured
        with pytest.raises(openai.BadRequestError) as info:
            client.vector_stores.create(name="x", extra_body={"provider_id": "opensearch"})
        assert info.value.body["param"] == "provider_id"
        return
    for provider in ("pgvector", "opensearch"):
        store = client.vector_stores.create(name=provider, extra_body={"provider_id": provider})
        assert store.model_extra["provider_id"] == provider
        done = client.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=("p.txt", f"walrus colony on the {provider} shore".encode())
        )
        assert done.status == "completed"
        assert client.vector_stores.retrieve(store.id).model_extra["provider_id"] == provider
        hits = client.vector_stores.search(store.id, query="walrus colony")
        assert [h.file_id for h in hits.data] == [done.id]
        # The chunks live in the store's own backend, and only there.
        in_postgres = db_execute(server, "SELECT count(*) FROM chunks WHERE vector_store_id = %s", (store.id,))[0][0]
        assert (in_postgres, server.chunk_count(store.id)) == ((0, 1) if provider == "opensearch" else (1, 0))
        client.vector_stores.delete(store.id)
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.create(name="x", extra_body={"provider_id": "milvus"})
