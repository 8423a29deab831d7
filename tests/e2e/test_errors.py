"""End to end: request limits, error bodies, authentication, request ids and tenant isolation."""

from __future__ import annotations

import time

import httpx
import openai
import pytest
from tests.support.sdk import assert_error_body, attach, make_client, upload

# ------------------------------------------------------------------ helpers


def bad_request(call, param: str | None = None, param_prefix: str | None = None) -> openai.BadRequestError:
    """Run `call`, expect a 400 whose body has OpenAI's shape (and the given param); return the error."""
    with pytest.raises(openai.BadRequestError) as info:
        call()
    e = info.value
    assert e.status_code == 400
    assert_error_body({"error": e.body})
    assert e.body["type"] == "invalid_request_error"
    assert e.param == e.body["param"]
    if param is not None:
        assert e.body["param"] == param, e.body
    if param_prefix is not None:
        assert e.body["param"] and e.body["param"].startswith(param_prefix), e.body
    assert isinstance(e.request_id, str) and e.request_id
    return e


def message(e: openai.APIStatusError) -> str:
    return e.body["message"]


# ------------------------------------------------------------------ metadata


def test_metadata_too_many_keys(client):
    bad_request(lambda: client.vector_stores.create(metadata={f"k{i}": "v" for i in range(17)}), param="metadata")
    ok = client.vector_stores.create(metadata={f"k{i}": "v" for i in range(16)})
    assert ok.metadata is not None and len(ok.metadata) == 16


def test_metadata_key_too_long(client):
    bad_request(lambda: client.vector_stores.create(metadata={"k" * 65: "v"}), param_prefix="metadata")
    ok = client.vector_stores.create(metadata={"k" * 64: "v"})
    assert ok.metadata == {"k" * 64: "v"}


def test_metadata_value_too_long(client):
    bad_request(lambda: client.vector_stores.create(metadata={"k": "v" * 513}), param_prefix="metadata")
    ok = client.vector_stores.create(metadata={"k": "v" * 512})
    assert ok.metadata == {"k": "v" * 512}


def test_metadata_non_string_value(client):
    bad_request(lambda: client.vector_stores.create(metadata={"k": 1}), param_prefix="metadata")  # type: ignore[dict-item]
    assert client.vector_stores.list().data == []


def test_metadata_limits_on_update(client):
    vs = client.vector_stores.create(name="x", metadata={"a": "b"})
    bad_request(lambda: client.vector_stores.update(vs.id, metadata={f"k{i}": "v" for i in range(17)}), param="metadata")
    bad_request(lambda: client.vector_stores.update(vs.id, metadata={"k": 5}), param_prefix="metadata")  # type: ignore[dict-item]
    assert client.vector_stores.retrieve(vs.id).metadata == {"a": "b"}


# -------------------------------------------------------------- body fields


def test_name_wrong_type(client):
    bad_request(lambda: client.vector_stores.create(name=123), param="name")  # type: ignore[arg-type]
    bad_request(lambda: client.vector_stores.create(extra_body={"name": ["a"]}), param="name")


def test_unknown_body_field(client):
    e = bad_request(lambda: client.vector_stores.create(extra_body={"foo": 1}), param="foo")
    assert message(e) == "Unrecognized request argument supplied: foo"
    assert client.vector_stores.list().data == []


def test_unknown_body_field_on_update(client):
    vs = client.vector_stores.create(name="x")
    e = bad_request(lambda: client.vector_stores.update(vs.id, extra_body={"description": "d"}), param="description")
    assert message(e) == "Unrecognized request argument supplied: description"


def test_invalid_embedding_model(client):
    bad_request(lambda: client.vector_stores.create(extra_body={"embedding_model": "nope"}), param="embedding_model")
    bad_request(
        lambda: client.vector_stores.create(extra_body={"embedding_model": "hash-v1", "embedding_dimension": 0}),
        param="embedding_dimension",
    )
    assert client.vector_stores.list().data == []


@pytest.mark.parametrize("days", [0, 366, -1])
def test_store_expires_after_days_out_of_range(client, days):
    bad_request(
        lambda: client.vector_stores.create(expires_after={"anchor": "last_active_at", "days": days}),
        param="expires_after.days",
    )


def test_store_expires_after_wrong_anchor(client):
    bad_request(
        lambda: client.vector_stores.create(expires_after={"anchor": "created_at", "days": 1}),  # type: ignore[typeddict-item]
        param="expires_after.anchor",
    )


def test_store_expires_after_bounds_accepted(client):
    for days in (1, 365):
        vs = client.vector_stores.create(expires_after={"anchor": "last_active_at", "days": days})
        assert vs.expires_after is not None and vs.expires_after.days == days


# --------------------------------------------------------------- list query


@pytest.mark.parametrize("limit", [0, 101])
def test_vector_store_list_limit_out_of_range(client, limit):
    bad_request(lambda: client.vector_stores.list(limit=limit), param="limit")


def test_vector_store_list_limit_bounds_accepted(client):
    assert client.vector_stores.list(limit=1).data == []
    assert client.vector_stores.list(limit=100).data == []


def test_files_list_limit_out_of_range(client):
    bad_request(lambda: client.files.list(limit=10_001), param="limit")
    bad_request(lambda: client.files.list(limit=0), param="limit")
    assert client.files.list(limit=10_000).data == []


def test_list_order_invalid(client):
    bad_request(lambda: client.vector_stores.list(order="sideways"), param="order")  # type: ignore[arg-type]
    bad_request(lambda: client.files.list(order="sideways"), param="order")  # type: ignore[arg-type]


def test_list_malformed_cursor(client):
    e = bad_request(lambda: client.vector_stores.list(after="abc"), param="after")
    assert message(e) == "Invalid 'after': 'abc'. Expected an ID that begins with 'vs_'."
    bad_request(lambda: client.files.list(after="abc"), param="after")


# ------------------------------------------------------ file_ids / chunking


def test_too_many_file_ids(client):
    bad_request(lambda: client.vector_stores.create(file_ids=[f"file-{i:04d}" for i in range(501)]), param="file_ids")
    assert client.vector_stores.list().data == []


@pytest.mark.parametrize(
    "static, param",
    [
        ({"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0}, "chunking_strategy.static.max_chunk_size_tokens"),
        ({"max_chunk_size_tokens": 4097, "chunk_overlap_tokens": 0}, "chunking_strategy.static.max_chunk_size_tokens"),
        ({"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 101}, "chunking_strategy.static"),
        ({"max_chunk_size_tokens": 200, "chunk_overlap_tokens": -1}, "chunking_strategy.static.chunk_overlap_tokens"),
    ],
)
def test_invalid_static_chunking(client, static, param):
    f = upload(client, "c.txt", "chunk me")
    bad_request(
        lambda: client.vector_stores.create(file_ids=[f.id], chunking_strategy={"type": "static", "static": static}),
        param=param,
    )
    assert client.vector_stores.list().data == []


def test_static_chunking_bounds_accepted(client):
    f = upload(client, "c.txt", "chunk me")
    vs = client.vector_stores.create(
        file_ids=[f.id],
        chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50}},
    )
    vsf = client.vector_stores.files.retrieve(f.id, vector_store_id=vs.id)
    assert vsf.chunking_strategy is not None and vsf.chunking_strategy.type == "static"
    assert vsf.chunking_strategy.static.max_chunk_size_tokens == 100
    assert vsf.chunking_strategy.static.chunk_overlap_tokens == 50


def test_unknown_chunking_type(client):
    f = upload(client, "c.txt", "chunk me")
    bad_request(
        lambda: client.vector_stores.create(file_ids=[f.id], chunking_strategy={"type": "fancy"}),  # type: ignore[typeddict-item]
        param_prefix="chunking_strategy",
    )


# ------------------------------------------------------------- raw bodies


def test_malformed_json(http):
    r = http.post("/v1/vector_stores", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    error = assert_error_body(r.json())
    assert error["type"] == "invalid_request_error"
    assert "could not parse the JSON body" in error["message"]
    assert r.headers["x-request-id"]


def test_json_array_body(http):
    r = http.post("/v1/vector_stores", content=b"[]", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert_error_body(r.json())
    r = http.post("/v1/vector_stores", json=[{"name": "x"}])
    assert r.status_code == 400
    assert_error_body(r.json())
    r = http.post("/v1/vector_stores", content=b'"just a string"', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert_error_body(r.json())


def test_empty_json_body_on_create_delete_and_cancel(http, client):
    r = http.post("/v1/vector_stores", content=b"", headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    store = r.json()
    assert store["name"] == ""
    r = http.delete(f"/v1/vector_stores/{store['id']}", headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": store["id"], "object": "vector_store.deleted", "deleted": True}


def test_sdk_deletes_and_cancel_with_empty_bodies(client):
    f = upload(client, "x.txt", "something to attach")
    vs = client.vector_stores.create(name="s")
    batch = client.vector_stores.file_batches.create(vector_store_id=vs.id, file_ids=[f.id])
    cancelled = client.vector_stores.file_batches.cancel(batch.id, vector_store_id=vs.id)
    assert cancelled.id == batch.id
    assert cancelled.status in ("cancelled", "completed")
    detached = client.vector_stores.files.delete(f.id, vector_store_id=vs.id)
    assert detached.deleted is True and detached.object == "vector_store.file.deleted"
    assert client.vector_stores.delete(vs.id).deleted is True
    assert client.files.delete(f.id).deleted is True


# ---------------------------------------------------------------- auth


ENDPOINTS = [
    ("GET", "/v1/files"),
    ("POST", "/v1/files"),
    ("GET", "/v1/files/file-abc"),
    ("DELETE", "/v1/files/file-abc"),
    ("GET", "/v1/files/file-abc/content"),
    ("GET", "/v1/vector_stores"),
    ("POST", "/v1/vector_stores"),
    ("GET", "/v1/vector_stores/vs_abc"),
    ("POST", "/v1/vector_stores/vs_abc"),
    ("DELETE", "/v1/vector_stores/vs_abc"),
    ("POST", "/v1/vector_stores/vs_abc/search"),
    ("GET", "/v1/vector_stores/vs_abc/files"),
    ("POST", "/v1/vector_stores/vs_abc/file_batches"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_missing_auth_is_401(server, method, path):
    with httpx.Client(base_url=server.base_url, timeout=30) as raw:
        r = raw.request(method, path, json={} if method == "POST" else None)
    assert r.status_code == 401, r.text
    error = assert_error_body(r.json())
    assert "API key" in error["message"]
    assert r.headers["x-request-id"]


@pytest.mark.parametrize("header", ["Basic x", "Bearer", "sk-test-no-scheme", "Token abc"])
def test_bad_auth_header_is_401(server, header):
    with httpx.Client(base_url=server.base_url, timeout=30) as raw:
        r = raw.get("/v1/vector_stores", headers={"Authorization": header})
    assert r.status_code == 401, r.text
    assert_error_body(r.json())


def test_sdk_raises_authentication_error_on_401(client):
    # The SDK refuses an empty api_key itself; Omit() removes the Authorization header on the wire.
    with pytest.raises(openai.AuthenticationError) as info:
        client.vector_stores.list(extra_headers={"Authorization": openai.Omit()})
    e = info.value
    assert e.status_code == 401
    assert isinstance(e.request_id, str) and e.request_id
    assert_error_body({"error": e.body})
    with pytest.raises(openai.AuthenticationError):
        client.files.list(extra_headers={"Authorization": "Basic x"})


def test_sdk_with_key_works(server):
    sdk = make_client(server.base_url, "sk-test-explicit-" + str(time.time_ns()))
    vs = sdk.vector_stores.create(name="mine")
    assert [s.id for s in sdk.vector_stores.list()] == [vs.id]
    # the same key is the same tenant
    same = make_client(server.base_url, sdk.api_key)
    assert same.vector_stores.retrieve(vs.id).name == "mine"


# ----------------------------------------------------------- ids and 404s


def test_unknown_ids_are_404(client):
    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.retrieve("vs_doesnotexist")
    assert info.value.status_code == 404
    assert message(info.value) == "No vector store found with id 'vs_doesnotexist'."
    assert info.value.body["type"] == "invalid_request_error"
    assert info.value.request_id

    for call in (
        lambda: client.vector_stores.update("vs_doesnotexist", name="x"),
        lambda: client.vector_stores.delete("vs_doesnotexist"),
        lambda: client.vector_stores.search("vs_doesnotexist", query="q"),
        lambda: client.vector_stores.files.list("vs_doesnotexist"),
        lambda: client.vector_stores.files.create(vector_store_id="vs_doesnotexist", file_id="file-x"),
    ):
        with pytest.raises(openai.NotFoundError) as info:
            call()
        assert message(info.value) == "No vector store found with id 'vs_doesnotexist'."

    for call in (
        lambda: client.files.retrieve("file-doesnotexist"),
        lambda: client.files.delete("file-doesnotexist"),
        lambda: client.files.content("file-doesnotexist"),
    ):
        with pytest.raises(openai.NotFoundError) as info:
            call()
        assert message(info.value) == "No file found with id 'file-doesnotexist'."


def test_malformed_ids_are_400(client):
    e = bad_request(lambda: client.vector_stores.retrieve("abc"), param="vector_store_id")
    assert message(e) == "Invalid 'vector_store_id': 'abc'. Expected an ID that begins with 'vs_'."
    e = bad_request(lambda: client.vector_stores.delete("file-123"), param="vector_store_id")
    assert message(e) == "Invalid 'vector_store_id': 'file-123'. Expected an ID that begins with 'vs_'."
    e = bad_request(lambda: client.files.retrieve("vs_123"), param="file_id")
    assert message(e) == "Invalid 'file_id': 'vs_123'. Expected an ID that begins with 'file-'."
    e = bad_request(lambda: client.files.delete("abc"), param="file_id")
    assert message(e) == "Invalid 'file_id': 'abc'. Expected an ID that begins with 'file-'."
    vs = client.vector_stores.create(name="s")
    e = bad_request(lambda: client.vector_stores.files.create(vector_store_id=vs.id, file_id="abc"), param="file_id")
    assert message(e) == "Invalid 'file_id': 'abc'. Expected an ID that begins with 'file-'."


def test_unknown_route_is_404(http):
    r = http.get("/v1/nope")
    assert r.status_code == 404
    error = assert_error_body(r.json())
    assert error["type"] == "invalid_request_error"
    assert r.headers["x-request-id"]
    r = http.post("/v1/vector_stores/vs_abc/frobnicate", json={})
    assert r.status_code == 404
    assert_error_body(r.json())


def test_wrong_method_is_openai_error(http):
    r = http.put("/v1/vector_stores")
    assert r.status_code == 405
    assert_error_body(r.json())


# ----------------------------------------------------------- request ids


def test_request_id_on_every_response(server, http):
    ok = http.get("/v1/vector_stores")
    bad = http.get("/v1/vector_stores/abc")
    missing = http.get("/v1/vector_stores/vs_nope")
    with httpx.Client(base_url=server.base_url, timeout=30) as raw:
        unauthorized = raw.get("/v1/vector_stores")
    statuses = [ok.status_code, bad.status_code, missing.status_code, unauthorized.status_code]
    assert statuses == [200, 400, 404, 401]
    request_ids = [r.headers.get("x-request-id") for r in (ok, bad, missing, unauthorized)]
    assert all(isinstance(rid, str) and rid for rid in request_ids)
    assert len(set(request_ids)) == 4  # one per request


def test_sdk_exposes_request_ids(client):
    vs = client.vector_stores.create(name="rid")
    f = upload(client)
    assert isinstance(vs._request_id, str) and vs._request_id
    assert isinstance(f._request_id, str) and f._request_id
    assert vs._request_id != f._request_id
    assert client.files.delete(f.id)._request_id
    with pytest.raises(openai.NotFoundError) as info:
        client.files.retrieve(f.id)
    assert isinstance(info.value.request_id, str) and info.value.request_id
    with pytest.raises(openai.BadRequestError) as info400:
        client.vector_stores.retrieve("abc")
    assert info400.value.request_id


# ---------------------------------------------------------------- tenancy


@pytest.fixture
def tenant_b(server):
    return make_client(server.base_url)


def test_tenants_are_isolated(client, tenant_b):
    a = client
    b = tenant_b
    a_file = upload(a, "secret.txt", "Tenant A's confidential quarterly numbers about widgets.")
    a_store = a.vector_stores.create(name="a-store", metadata={"owner": "a"})
    attach(a, a_store.id, a_file.id)

    # B sees nothing
    assert b.files.list().data == []
    assert b.vector_stores.list().data == []

    file_msg = f"No file found with id '{a_file.id}'."
    store_msg = f"No vector store found with id '{a_store.id}'."
    for call, expected in (
        (lambda: b.files.retrieve(a_file.id), file_msg),
        (lambda: b.files.content(a_file.id), file_msg),
        (lambda: b.files.delete(a_file.id), file_msg),
        (lambda: b.vector_stores.retrieve(a_store.id), store_msg),
        (lambda: b.vector_stores.update(a_store.id, name="pwned"), store_msg),
        (lambda: b.vector_stores.delete(a_store.id), store_msg),
        (lambda: b.vector_stores.search(a_store.id, query="widgets"), store_msg),
        (lambda: b.vector_stores.files.list(a_store.id), store_msg),
        (lambda: b.vector_stores.files.retrieve(a_file.id, vector_store_id=a_store.id), store_msg),
        (lambda: b.vector_stores.files.delete(a_file.id, vector_store_id=a_store.id), store_msg),
        (lambda: b.vector_stores.files.create(vector_store_id=a_store.id, file_id=a_file.id), store_msg),
    ):
        with pytest.raises(openai.NotFoundError) as info:
            call()
        assert info.value.status_code == 404
        assert message(info.value) == expected

    # B cannot attach A's file to B's own store, nor create a store from it
    b_store = b.vector_stores.create(name="b-store")
    with pytest.raises(openai.NotFoundError) as info:
        b.vector_stores.files.create(vector_store_id=b_store.id, file_id=a_file.id)
    assert message(info.value) == file_msg
    with pytest.raises(openai.NotFoundError):
        b.vector_stores.file_batches.create(vector_store_id=b_store.id, file_ids=[a_file.id])
    with pytest.raises(openai.NotFoundError):
        b.vector_stores.create(file_ids=[a_file.id])
    assert b.vector_stores.retrieve(b_store.id).file_counts.total == 0
    assert [s.id for s in b.vector_stores.list()] == [b_store.id]

    # cursors from A's objects reveal nothing to B
    assert b.files.list(after=a_file.id).data == []

    # A's objects are untouched
    assert a.files.retrieve(a_file.id).id == a_file.id
    assert a.files.content(a_file.id).read() == b"Tenant A's confidential quarterly numbers about widgets."
    store = a.vector_stores.retrieve(a_store.id)
    assert store.name == "a-store"
    assert store.metadata == {"owner": "a"}
    assert store.file_counts.total == 1 and store.file_counts.completed == 1
    hits = a.vector_stores.search(a_store.id, query="quarterly widgets")
    assert [h.file_id for h in hits.data] == [a_file.id]
    assert [s.id for s in a.vector_stores.list()] == [a_store.id]
    assert [f.id for f in a.files.list()] == [a_file.id]
    # and A cannot see B's store either
    with pytest.raises(openai.NotFoundError):
        a.vector_stores.retrieve(b_store.id)


# ------------------------------------------------------------- more bodies


def test_description_limits(client):
    bad_request(lambda: client.vector_stores.create(description="d" * 513), param="description")
    bad_request(lambda: client.vector_stores.create(description=5), param="description")  # type: ignore[arg-type]
    ok = client.vector_stores.create(description="d" * 512)
    assert ok.model_extra["description"] == "d" * 512


def test_malformed_file_ids_on_create(client):
    e = bad_request(lambda: client.vector_stores.create(file_ids=["abc"]), param="file_ids")
    assert message(e) == "Invalid 'file_ids': 'abc'. Expected an ID that begins with 'file-'."
    bad_request(lambda: client.vector_stores.create(file_ids="file-abc"), param="file_ids")  # type: ignore[arg-type]
    assert client.vector_stores.list().data == []


def test_duplicate_file_ids_on_create(client):
    f = upload(client, "dup.txt", "duplicate me")
    vs = client.vector_stores.create(file_ids=[f.id, f.id, f.id])
    assert vs.file_counts.total == 1
    assert [x.id for x in client.vector_stores.files.list(vs.id)] == [f.id]


def test_invalid_provider_id(client):
    bad_request(lambda: client.vector_stores.create(extra_body={"provider_id": "nope"}), param="provider_id")
    ok = client.vector_stores.create(extra_body={"provider_id": "pgvector"})
    assert ok.model_extra["provider_id"] == "pgvector"


def test_expires_after_missing_keys(client):
    bad_request(lambda: client.vector_stores.create(expires_after={"anchor": "last_active_at"}), param="expires_after.days")  # type: ignore[typeddict-item]
    bad_request(lambda: client.vector_stores.create(expires_after={"days": 3}), param="expires_after.anchor")  # type: ignore[typeddict-item]


def test_update_expired_store_expiry_is_rejected(client, server):
    import psycopg

    vs = client.vector_stores.create(expires_after={"anchor": "last_active_at", "days": 1})
    with psycopg.connect(server.database_url, autocommit=True) as conn:
        conn.execute("UPDATE vector_stores SET last_active_at = last_active_at - 172800 WHERE id = %s", (vs.id,))
    e = bad_request(lambda: client.vector_stores.update(vs.id, expires_after={"anchor": "last_active_at", "days": 5}))
    assert message(e) == f"Vector store '{vs.id}' has expired"
    renamed = client.vector_stores.update(vs.id, name="still renamable")
    assert renamed.name == "still renamable"
    assert renamed.status == "expired"


@pytest.mark.parametrize("days", ["7", True, 7.5])
def test_expires_after_days_must_be_an_integer(client, days):
    bad_request(
        lambda: client.vector_stores.create(expires_after={"anchor": "last_active_at", "days": days}),  # type: ignore[typeddict-item]
        param="expires_after.days",
    )
    assert client.vector_stores.list().data == []


def test_integer_fields_reject_other_types(client):
    bad_request(lambda: client.vector_stores.create(extra_body={"embedding_dimension": True}), param="embedding_dimension")
    f = upload(client, "c.txt", "chunk me")
    bad_request(
        lambda: client.vector_stores.create(
            file_ids=[f.id],
            chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": "800", "chunk_overlap_tokens": 400}},  # type: ignore[typeddict-item]
        ),
        param="chunking_strategy.static.max_chunk_size_tokens",
    )


# ------------------------------------------- NUL characters (PostgreSQL text cannot hold them)


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"name": "a\x00b"}, "name"),
        ({"description": "a\x00b"}, "description"),
        ({"metadata": {"k": "a\x00b"}}, "metadata.k"),
        ({"metadata": {"k\x00": "v"}}, "metadata"),
    ],
)
def test_nul_in_json_strings_is_400(client, kwargs, param):
    e = bad_request(lambda: client.vector_stores.create(**kwargs), param=param)
    assert "NUL" in message(e)
    assert client.vector_stores.list().data == []


def test_nul_in_attributes_and_search_is_400(client):
    f = upload(client, "n.txt", "nul test")
    vs = client.vector_stores.create(name="n")
    bad_request(
        lambda: client.vector_stores.files.create(vector_store_id=vs.id, file_id=f.id, attributes={"k": "a\x00"}),
        param="attributes.k",
    )
    bad_request(lambda: client.vector_stores.search(vs.id, query="a\x00b"), param="query")
    assert client.vector_stores.retrieve(vs.id).file_counts.total == 0


@pytest.mark.parametrize(
    "method, url, param",
    [
        ("GET", "/v1/files?purpose=a%00b", "purpose"),
        ("GET", "/v1/files?after=file-a%00b", "after"),
        ("GET", "/v1/files/file-a%00b", "file_id"),
        ("GET", "/v1/files/file-a%00b/content", "file_id"),
        ("DELETE", "/v1/files/file-a%00b", "file_id"),
        ("GET", "/v1/vector_stores/vs_a%00b", "vector_store_id"),
        ("GET", "/v1/vector_stores?before=vs_%00", "before"),
        ("GET", "/v1/vector_stores/vs_a%00b/files", "vector_store_id"),
    ],
)
def test_nul_in_ids_and_query_is_400(http, method, url, param):
    r = http.request(method, url)
    assert r.status_code == 400, r.text
    assert assert_error_body(r.json())["param"] == param


def test_nul_in_uploaded_filename_is_400(http):
    body = (
        b'--BOUND\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        b'--BOUND\r\nContent-Disposition: form-data; name="file"; filename="a\x00b.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nxyz\r\n--BOUND--\r\n"
    )
    r = http.post("/v1/files", content=body, headers={"content-type": "multipart/form-data; boundary=BOUND"})
    assert r.status_code == 400, r.text
    assert assert_error_body(r.json())["param"] == "file"
    assert http.get("/v1/files").json()["data"] == []


def test_escaped_backslash_u0000_is_plain_text(client):
    vs = client.vector_stores.create(name="a\\u0000b")  # a literal backslash, not a NUL
    assert vs.name == "a\\u0000b"
