"""FileService and attaching under a key limited to some vector stores (a `FileScope`): it sees the
Files attached to its stores and those it uploaded; every other File of the project is a 404."""

from __future__ import annotations

import io

import pytest
from service_harness import attach, ids, new_store, page, upload

from vector_store_api.errors import NotFound, PermissionDenied
from vector_store_api.models.files import FileScope
from vector_store_api.models.vector_stores import CreateFileBatchRequest, CreateVectorStoreFileRequest

TEXT = "a short note about alpine lakes"


@pytest.fixture
def project_files(services, tenant):
    """Two stores of one project; a key scoped to the first. Files: in the scoped store, only in the
    other store, in both, in none, and one the scoped key uploaded (in no store)."""
    inside, outside = new_store(services, tenant), new_store(services, tenant)
    scope = FileScope("key_scoped", frozenset({inside.id}))
    files = {name: upload(services, tenant, f"{name}.txt", TEXT) for name in ("inside", "outside", "both", "loose")}
    attach(services, tenant, inside.id, files["inside"].id)
    attach(services, tenant, outside.id, files["outside"].id)
    attach(services, tenant, inside.id, files["both"].id)
    attach(services, tenant, outside.id, files["both"].id)
    files["own"] = services.files.upload(tenant, "own.txt", io.BytesIO(TEXT.encode()), "assistants", uploaded_by=scope.key_id)
    return inside, outside, scope, files


def test_a_scoped_key_lists_only_the_files_it_may_see_page_by_page(services, tenant, project_files):
    _, _, scope, files = project_files
    visible = sorted(files[name].id for name in ("inside", "both", "own"))
    assert sorted(ids(services.files.list(tenant, None, page(limit=100)))) == sorted(f.id for f in files.values())
    assert ids(services.files.list(tenant, None, page(limit=100, order="asc"), scope)) == visible

    # Filtered in the query, so a page of one is always full and `has_more` is exact.
    seen, after = [], None
    while True:
        listing = services.files.list(tenant, None, page(limit=1, order="asc", after=after), scope)
        assert len(listing.items) == 1
        seen.append(listing.items[0].id)
        if not listing.has_more:
            break
        after = seen[-1]
    assert seen == visible


def test_a_file_outside_the_scope_is_not_found_anywhere(services, tenant, project_files):
    inside, _, scope, files = project_files
    for name in ("outside", "loose"):
        file_id = files[name].id
        for call in (
            lambda fid: services.files.retrieve(tenant, fid, scope),
            lambda fid: services.files.content(tenant, fid, scope),
            lambda fid: services.files.delete(tenant, fid, scope),
            lambda fid: services.stores.attach(tenant, inside.id, CreateVectorStoreFileRequest(file_id=fid), scope),
        ):
            with pytest.raises(NotFound) as error:
                call(file_id)
            assert error.value.message == f"No file found with id '{file_id}'."  # the same as a missing file
        assert services.files.retrieve(tenant, file_id).id == file_id  # still there for the project
    assert ids(services.stores.list_files(tenant, inside.id, None, page())) == [files["both"].id, files["inside"].id]

    with pytest.raises(NotFound):  # a batch naming one such file attaches nothing
        services.stores.create_batch(
            tenant, inside.id, CreateFileBatchRequest(file_ids=[files["own"].id, files["outside"].id]), scope
        )
    assert files["own"].id not in ids(services.stores.list_files(tenant, inside.id, None, page()))


def test_a_scoped_key_reads_attaches_and_deletes_the_files_it_may_see(services, tenant, project_files):
    inside, outside, scope, files = project_files
    for name in ("inside", "both", "own"):
        assert services.files.retrieve(tenant, files[name].id, scope) == files[name]
        _, content = services.files.content(tenant, files[name].id, scope)
        assert b"".join(content) == TEXT.encode()

    batch = services.stores.create_batch(tenant, inside.id, CreateFileBatchRequest(file_ids=[files["own"].id]), scope)
    assert batch.file_counts.total == 1

    with pytest.raises(PermissionDenied) as refused:  # seen through its store, but also in one outside the scope
        services.files.delete(tenant, files["both"].id, scope)
    assert outside.id in refused.value.message
    assert services.files.delete(tenant, files["inside"].id, scope).deleted
    assert services.files.delete(tenant, files["own"].id, scope).deleted
    with pytest.raises(NotFound):
        services.files.retrieve(tenant, files["own"].id)
