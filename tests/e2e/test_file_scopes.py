"""End to end, on both vector backends: a key limited to some vector stores sees (lists, retrieves,
downloads, deletes, attaches) only the Files attached to its stores and those it uploaded. Any other
File of its project answers 404 exactly as a File that does not exist."""

from __future__ import annotations

import uuid

import openai
import pytest
from tests.support.admin import create_project_key, new_project
from tests.support.sdk import attach, make_client, upload
from tests.support.servers import ADMIN_API_KEY, ServerProcess, serve


@pytest.fixture(scope="module", params=["pgvector", "opensearch"])
def scopes_server(request, tmp_path_factory) -> ServerProcess:
    """A server with key checking on, per vector backend (pgvector: the session's `keys_server`)."""
    if request.param == "pgvector":
        yield request.getfixturevalue("keys_server")
        return
    yield from serve(
        tmp_path_factory.mktemp("server-scopes-opensearch"),
        ADMIN_API_KEY=ADMIN_API_KEY,
        VECTOR_BACKEND="opensearch",
        OPENSEARCH_URL=request.getfixturevalue("opensearch_url"),
        OPENSEARCH_INDEX_PREFIX=f"scopes-{uuid.uuid4().hex[:8]}",
    )


def _not_found_body(call, file_id: str) -> dict:
    with pytest.raises(openai.NotFoundError) as info:
        call(file_id)
    return info.value.body


def test_a_store_scoped_key_sees_only_files_of_its_stores_or_its_own(scopes_server):
    project_id, owner_key = new_project(scopes_server, ADMIN_API_KEY, "file-scopes")
    owner = make_client(scopes_server.base_url, api_key=owner_key)
    mine, theirs = owner.vector_stores.create(name="mine"), owner.vector_stores.create(name="theirs")
    in_mine = upload(owner, "in-mine.txt", "glacier survey notes")
    attach(owner, mine.id, in_mine.id)
    in_theirs = upload(owner, "in-theirs.txt", "salary review, confidential")
    attach(owner, theirs.id, in_theirs.id)
    loose = upload(owner, "loose.txt", "in no store at all")

    scoped_key = create_project_key(scopes_server, ADMIN_API_KEY, project_id, role="write", vector_store_ids=[mine.id])
    scoped = make_client(scopes_server.base_url, api_key=scoped_key["value"])
    own = upload(scoped, "own.txt", "moraine field guide")

    # Listing is filtered in the query: pages of one walk exactly the visible files.
    visible = sorted([in_mine.id, own.id])
    assert sorted(f.id for f in scoped.files.list().data) == visible
    assert [f.id for f in scoped.files.list(limit=1, order="asc")] == visible  # the SDK follows `after`
    assert {f.id for f in owner.files.list().data} == {in_mine.id, in_theirs.id, loose.id, own.id}

    missing_id = "file-" + uuid.uuid4().hex
    for hidden in (in_theirs.id, loose.id):
        for call in (
            lambda fid: scoped.files.retrieve(fid),
            lambda fid: scoped.files.content(fid),
            lambda fid: scoped.files.delete(fid),
            lambda fid: scoped.vector_stores.files.create(vector_store_id=mine.id, file_id=fid),
            lambda fid: scoped.vector_stores.file_batches.create(vector_store_id=mine.id, file_ids=[fid]),
        ):
            body = _not_found_body(call, hidden)
            assert body == {**_not_found_body(call, missing_id), "message": body["message"]}
            assert body["message"] == f"No file found with id '{hidden}'."  # nothing says it exists
    assert owner.files.retrieve(in_theirs.id).id == in_theirs.id  # untouched
    assert owner.vector_stores.retrieve(theirs.id).file_counts.completed == 1
    assert owner.vector_stores.retrieve(mine.id).file_counts.total == 1  # nothing was attached

    assert scoped.files.retrieve(in_mine.id).id == in_mine.id
    assert scoped.files.content(in_mine.id).content == b"glacier survey notes"
    assert scoped.files.content(own.id).content == b"moraine field guide"
    attach(scoped, mine.id, own.id)  # its own upload may go into its store
    assert [h.file_id for h in scoped.vector_stores.search(mine.id, query="moraine field guide").data][0] == own.id

    assert scoped.files.delete(in_mine.id).deleted
    assert scopes_server.chunk_count(mine.id, in_mine.id) == 0  # gone from the backend too
    assert [f.id for f in scoped.files.list().data] == [own.id]
