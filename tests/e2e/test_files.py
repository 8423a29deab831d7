"""End to end: /v1/files through the official SDK in strict mode (raw httpx only where the SDK cannot)."""

from __future__ import annotations

import json
import time

import openai
import pytest
from tests.support.db import db_execute
from tests.support.sdk import assert_error_body, attach, upload, wait_until

# ------------------------------------------------------------------ helpers




# ------------------------------------------------------------------ create


def test_create_file_fields(client):
    before = int(time.time())
    data = b"hello files api\n"
    f = client.files.create(file=("hello.txt", data, "text/plain"), purpose="assistants")
    after = int(time.time())
    assert f.id.startswith("file-")
    assert f.object == "file"
    assert f.bytes == len(data)
    assert f.filename == "hello.txt"
    assert f.purpose == "assistants"
    assert f.status == "processed"
    assert before - 5 <= f.created_at <= after + 5
    assert f.expires_at is None
    assert isinstance(f._request_id, str) and f._request_id


def test_create_file_with_expiry(client):
    f = upload(client, expires_after={"anchor": "created_at", "seconds": 3600})
    assert f.expires_at == f.created_at + 3600
    again = client.files.retrieve(f.id)
    assert again.expires_at == f.created_at + 3600


@pytest.mark.parametrize(
    "expires_after, param",
    [
        ({"anchor": "created_at", "seconds": 10}, "expires_after.seconds"),
        ({"anchor": "created_at", "seconds": 2_592_001}, "expires_after.seconds"),
        ({"anchor": "foo", "seconds": 3600}, "expires_after.anchor"),
    ],
)
def test_create_file_invalid_expiry(client, expires_after, param):
    with pytest.raises(openai.BadRequestError) as info:
        upload(client, expires_after=expires_after)
    e = info.value
    assert e.status_code == 400
    assert e.param == param
    assert e.body["param"] == param
    assert client.files.list().data == []  # nothing was stored


def test_create_file_invalid_purpose(client):
    with pytest.raises(openai.BadRequestError) as info:
        upload(client, purpose="nonsense")  # type: ignore[arg-type]
    assert info.value.status_code == 400
    assert info.value.param == "purpose"
    assert "nonsense" in info.value.message
    assert client.files.list().data == []


def test_create_file_without_file_part(http):
    response = http.post("/v1/files", data={"purpose": "assistants"}, files={"other": ("x.txt", b"x")})
    assert response.status_code == 400
    error = assert_error_body(response.json())
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "file"
    assert response.headers["x-request-id"]


def test_create_file_with_two_file_parts_is_400(http):
    files = [("file", ("a.txt", b"first")), ("file", ("b.txt", b"second"))]
    response = http.post("/v1/files", data={"purpose": "assistants"}, files=files)
    assert response.status_code == 400, response.text
    error = assert_error_body(response.json())
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", "file", "invalid_value")
    assert "got 2" in error["message"]
    assert http.get("/v1/files").json()["data"] == []  # neither file was kept


def test_create_file_without_purpose(http):
    response = http.post("/v1/files", files={"file": ("a.txt", b"x")})
    assert response.status_code == 400, response.text
    error = assert_error_body(response.json())
    assert (error["param"], error["code"]) == ("purpose", "missing_required_parameter")
    assert error["message"] == "Missing required parameter: 'purpose'."


def test_create_file_without_any_body(http):
    response = http.post("/v1/files")
    assert response.status_code == 400
    assert_error_body(response.json())


# -------------------------------------------------------------------- list


def test_list_purpose_filter(client):
    a = upload(client, "a.txt", purpose="assistants")
    u = upload(client, "u.txt", purpose="user_data")
    v = upload(client, "v.txt", purpose="vision")
    assert [f.id for f in client.files.list(purpose="user_data")] == [u.id]
    assert [f.id for f in client.files.list(purpose="assistants")] == [a.id]
    assert [f.id for f in client.files.list(purpose="vision")] == [v.id]
    assert [f.id for f in client.files.list(purpose="batch")] == []
    assert [f.id for f in client.files.list()] == [v.id, u.id, a.id]


def test_list_limit_order_and_after(client):
    ids = [upload(client, f"f{i}.txt", f"text {i}").id for i in range(5)]

    page = client.files.list(limit=2)
    assert [f.id for f in page.data] == [ids[4], ids[3]]
    assert page.has_more is True

    page2 = client.files.list(limit=2, after=ids[3])
    assert [f.id for f in page2.data] == [ids[2], ids[1]]
    assert page2.has_more is True

    page3 = client.files.list(limit=2, after=ids[1])
    assert [f.id for f in page3.data] == [ids[0]]
    assert page3.has_more is False

    asc = client.files.list(limit=3, order="asc")
    assert [f.id for f in asc.data] == ids[:3]
    assert asc.has_more is True
    asc2 = client.files.list(limit=3, order="asc", after=ids[2])
    assert [f.id for f in asc2.data] == ids[3:]
    assert asc2.has_more is False

    desc = client.files.list(order="desc")
    assert [f.id for f in desc.data] == ids[::-1]
    assert desc.has_more is False


def test_list_raw_page_shape(client):
    ids = [upload(client, f"f{i}.txt").id for i in range(3)]
    raw = client.files.with_raw_response.list(limit=2)
    body = json.loads(raw.content)
    assert body["object"] == "list"
    assert [d["id"] for d in body["data"]] == [ids[2], ids[1]]
    assert body["first_id"] == ids[2]
    assert body["last_id"] == ids[1]
    assert body["has_more"] is True
    page = raw.parse()
    assert page.has_more is True
    assert raw.headers["x-request-id"]


def test_auto_pagination_returns_every_file_once_in_desc_order(client):
    ids = [upload(client, f"f{i}.txt", f"text {i}").id for i in range(7)]
    seen = [f.id for f in client.files.list(limit=2)]
    assert seen == ids[::-1]
    assert len(set(seen)) == 7
    seen_asc = [f.id for f in client.files.list(limit=3, order="asc")]
    assert seen_asc == ids


def test_same_second_creation_order_is_stable(client):
    ids = [upload(client, f"quick{i}.txt", "x").id for i in range(5)]
    files = client.files.list().data
    assert [f.id for f in files] == ids[::-1]
    assert [f.id for f in client.files.list(order="asc").data] == ids
    # paging through same-second files with a cursor neither skips nor repeats
    assert [f.id for f in client.files.list(limit=1)] == ids[::-1]
    assert [f.id for f in client.files.list(limit=1, order="asc")] == ids


def test_list_empty_for_new_tenant(client):
    page = client.files.list()
    assert page.data == []
    assert page.has_more is False


# -------------------------------------------------------- retrieve/content


def test_retrieve(client):
    f = upload(client, "r.txt", "retrieve me")
    got = client.files.retrieve(f.id)
    assert got.model_dump() == f.model_dump()


def test_content_binary_roundtrip(client):
    data = bytes(range(256)) * 4
    f = client.files.create(file=("all-bytes.bin", data, "application/octet-stream"), purpose="user_data")
    assert f.bytes == len(data)
    assert client.files.content(f.id).read() == data


def test_content_utf8_roundtrip(client):
    text = "héllo wörld ✓ 日本語 🚀\nsecond line\n"
    f = upload(client, "unicode.txt", text)
    assert f.bytes == len(text.encode("utf-8"))
    content = client.files.content(f.id)
    assert content.read() == text.encode("utf-8")
    assert content.text == text


def test_content_of_empty_file(client):
    f = client.files.create(file=("empty.txt", b"", "text/plain"), purpose="assistants")
    assert f.bytes == 0
    assert client.files.content(f.id).read() == b""


# ------------------------------------------------------------------ delete


def test_delete_file(client):
    f = upload(client, "d.txt")
    deleted = client.files.delete(f.id)
    assert deleted.id == f.id
    assert deleted.object == "file"
    assert deleted.deleted is True

    with pytest.raises(openai.NotFoundError) as info:
        client.files.retrieve(f.id)
    assert info.value.status_code == 404
    assert info.value.body["message"] == f"No file found with id '{f.id}'."
    assert info.value.body["message"] == f"No file found with id '{f.id}'."

    with pytest.raises(openai.NotFoundError):
        client.files.content(f.id)
    assert client.files.list().data == []

    with pytest.raises(openai.NotFoundError) as twice:
        client.files.delete(f.id)
    assert twice.value.body["message"] == f"No file found with id '{f.id}'."


def test_delete_file_removes_it_from_every_vector_store(client):
    doc = upload(client, "zebra.txt", "Zebras are striped animals that live on the African savanna.")
    other = upload(client, "kettle.txt", "A kettle boils water for tea in the kitchen.")
    stores = [client.vector_stores.create(name=f"s{i}") for i in range(2)]
    for store in stores:
        attach(client, store.id, doc.id)
        attach(client, store.id, other.id)

    before = {}
    for store in stores:
        s = client.vector_stores.retrieve(store.id)
        assert s.file_counts.total == 2
        assert s.file_counts.completed == 2
        assert s.usage_bytes > 0
        before[store.id] = s.usage_bytes
        hits = client.vector_stores.search(store.id, query="zebras striped savanna")
        assert doc.id in {h.file_id for h in hits.data}

    client.files.delete(doc.id)

    for store in stores:
        s = client.vector_stores.retrieve(store.id)
        assert s.file_counts.total == 1
        assert s.file_counts.completed == 1
        assert 0 < s.usage_bytes < before[store.id]
        listed = [f.id for f in client.vector_stores.files.list(store.id)]
        assert listed == [other.id]
        with pytest.raises(openai.NotFoundError):
            client.vector_stores.files.retrieve(doc.id, vector_store_id=store.id)
        hits = client.vector_stores.search(store.id, query="zebras striped savanna")
        assert hits.data, "the remaining file should still be searchable"
        assert {h.file_id for h in hits.data} == {other.id}
    # the other file is untouched
    assert client.files.retrieve(other.id).id == other.id


def test_delete_while_paging(client):
    ids = [upload(client, f"p{i}.txt", f"page {i}").id for i in range(7)]
    deleted = []
    for f in client.files.list(limit=2):
        client.files.delete(f.id)
        deleted.append(f.id)
    assert deleted == ids[::-1]
    assert client.files.list().data == []


def test_delete_while_paging_ascending(client):
    ids = [upload(client, f"p{i}.txt", f"page {i}").id for i in range(5)]
    deleted = []
    for f in client.files.list(limit=2, order="asc"):
        client.files.delete(f.id)
        deleted.append(f.id)
    assert deleted == ids
    assert client.files.list().data == []


# ------------------------------------------------------------------ expiry


def test_file_expiry(client, server):
    keep = upload(client, "keep.txt", "keep")
    f = upload(client, "expiring.txt", "soon gone", expires_after={"anchor": "created_at", "seconds": 3600})
    assert f.expires_at == f.created_at + 3600
    past = int(time.time()) - 1
    assert db_execute(server, "UPDATE files SET expires_at = %s WHERE id = %s", (past, f.id)) == 1

    with pytest.raises(openai.NotFoundError) as info:
        client.files.retrieve(f.id)
    assert info.value.body["message"] == f"No file found with id '{f.id}'."
    assert [x.id for x in client.files.list()] == [keep.id]
    with pytest.raises(openai.NotFoundError):
        client.files.content(f.id)

    wait_until(
        lambda: db_execute(server, "SELECT id FROM files WHERE id = %s", (f.id,)) == [],
        timeout=30,
        what="the expiry sweep to delete the file row",
    )
    assert client.files.retrieve(keep.id).id == keep.id


def test_expired_file_cannot_be_attached(client, server):
    f = upload(client, "expiring.txt", "soon gone", expires_after={"anchor": "created_at", "seconds": 3600})
    db_execute(server, "UPDATE files SET expires_at = %s WHERE id = %s", (int(time.time()) - 1, f.id))
    store = client.vector_stores.create(name="s")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.create(vector_store_id=store.id, file_id=f.id)


def test_file_expiry_detaches_it_from_stores(client, server):
    doomed = upload(client, "doomed.txt", "Volcanoes erupt molten lava and ash clouds.")
    other = upload(client, "other.txt", "Gardens grow tomatoes and basil in summer.")
    store = client.vector_stores.create(name="s")
    attach(client, store.id, doomed.id)
    attach(client, store.id, other.id)
    assert client.vector_stores.retrieve(store.id).file_counts.total == 2
    db_execute(server, "UPDATE files SET expires_at = %s WHERE id = %s", (int(time.time()) - 1, doomed.id))

    def detached():
        s = client.vector_stores.retrieve(store.id)
        return s if s.file_counts.total == 1 else None

    s = wait_until(detached, timeout=30, what="the expired file to leave the store")
    assert s.file_counts.completed == 1
    assert [f.id for f in client.vector_stores.files.list(store.id)] == [other.id]
    hits = client.vector_stores.search(store.id, query="volcanoes lava ash")
    assert {h.file_id for h in hits.data} == {other.id}


# ------------------------------------------------------------- odd inputs


def test_auto_pagination_keeps_purpose_filter(client):
    wanted = [upload(client, f"u{i}.txt", purpose="user_data").id for i in range(3)]
    for i in range(3):
        upload(client, f"a{i}.txt", purpose="assistants")
    assert [f.id for f in client.files.list(purpose="user_data", limit=1)] == wanted[::-1]


def test_unusual_filenames_roundtrip(client):
    for name in ['naïve résumé 日本 (1).txt', "semi;colon,comma\\back.txt", "../../etc/passwd"]:
        f = client.files.create(file=(name, b"payload", "text/plain"), purpose="assistants")
        assert f.filename == name
        assert client.files.retrieve(f.id).filename == name
        assert client.files.content(f.id).read() == b"payload"


def test_large_binary_roundtrip(client):
    import os

    data = os.urandom(3 * 1024 * 1024 + 17)
    f = client.files.create(file=("big.bin", data, "application/octet-stream"), purpose="user_data")
    assert f.bytes == len(data)
    assert client.files.content(f.id).read() == data


def test_evals_purpose_is_echoed(http):
    # Documented choice (README): `evals` is reported as `evals`, which the SDK's strict literal lacks.
    r = http.post("/v1/files", data={"purpose": "evals"}, files={"file": ("e.jsonl", b"{}\n", "application/jsonl")})
    assert r.status_code == 200, r.text
    assert r.json()["purpose"] == "evals"
    listed = http.get("/v1/files", params={"purpose": "evals"}).json()
    assert [f["id"] for f in listed["data"]] == [r.json()["id"]]


def test_expiry_seconds_not_an_integer(http):
    r = http.post(
        "/v1/files",
        data={"purpose": "assistants", "expires_after[anchor]": "created_at", "expires_after[seconds]": "soon"},
        files={"file": ("x.txt", b"x", "text/plain")},
    )
    assert r.status_code == 400
    error = assert_error_body(r.json())
    assert error["param"] == "expires_after.seconds"
    assert error["message"].startswith("Invalid 'expires_after.seconds'")


def test_expiry_seconds_without_anchor(http):
    r = http.post(
        "/v1/files",
        data={"purpose": "assistants", "expires_after[seconds]": "3600"},
        files={"file": ("x.txt", b"x", "text/plain")},
    )
    assert r.status_code == 400
    assert assert_error_body(r.json())["param"] == "expires_after.anchor"


# ------------------------------------------------------ races with ingestion


def test_delete_files_while_they_are_being_ingested(client):
    ids = [upload(client, f"big{i}.txt", f"paragraph {i} about rivers and mountains. " * 400).id for i in range(6)]
    store = client.vector_stores.create(name="racing", file_ids=ids)
    assert store.file_counts.total == 6
    for file_id in ids:
        assert client.files.delete(file_id).deleted is True

    def settled():
        s = client.vector_stores.retrieve(store.id)
        return s if s.file_counts.total == 0 and s.status == "completed" else None

    s = wait_until(settled, timeout=60, what="the store to drop every deleted file")
    assert s.usage_bytes == 0
    assert client.vector_stores.files.list(store.id).data == []
    assert client.vector_stores.search(store.id, query="rivers and mountains").data == []
    assert client.files.list().data == []
    # the store stays usable
    fresh = upload(client, "fresh.txt", "Penguins waddle across the Antarctic ice.")
    attach(client, store.id, fresh.id)
    hits = client.vector_stores.search(store.id, query="penguins antarctic")
    assert [h.file_id for h in hits.data] == [fresh.id]


def test_delete_store_while_its_files_are_being_ingested(client):
    ids = [upload(client, f"big{i}.txt", f"paragraph {i} about oceans and tides. " * 400).id for i in range(4)]
    store = client.vector_stores.create(name="short", file_ids=ids)
    assert client.vector_stores.delete(store.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(store.id)
    # every File survives, with its bytes
    assert sorted(f.id for f in client.files.list()) == sorted(ids)
    assert client.files.content(ids[0]).read() == ("paragraph 0 about oceans and tides. " * 400).encode()
    # and can be attached elsewhere afterwards
    other = client.vector_stores.create(name="other")
    attach(client, other.id, ids[0])
    assert client.vector_stores.retrieve(other.id).file_counts.completed == 1
