"""VectorStoreService and FileService in-process: stores, paging through PageRequest, file counts,
batch status, quotas (the API's InsufficientQuota) and tenant isolation."""

from __future__ import annotations

import pytest
from service_harness import ORG_ADMIN, attach, chunk_rows, ids, ingest, new_store, page, sql_execute, upload

from vector_store_api.errors import InsufficientQuota, InvalidRequest, NotFound
from vector_store_api.models.admin import UpdateQuotasRequest
from vector_store_api.models.search import SearchRequest
from vector_store_api.models.vector_stores import CreateFileBatchRequest, UpdateVectorStoreRequest

DAY = 86_400
GOOD = b"a plain text document about mountain glaciers"
BAD = b""  # an empty file: fails as invalid_file


def counts(store) -> tuple[int, int, int, int, int]:
    c = store.file_counts
    return c.in_progress, c.completed, c.failed, c.cancelled, c.total


# ------------------------------------------------------------------------------ create / update / delete


def test_create_and_retrieve(services, tenant):
    store = new_store(
        services,
        tenant,
        name="docs",
        description="product docs",
        metadata={"team": "search"},
        expires_after={"anchor": "last_active_at", "days": 7},
    )
    assert store.id.startswith("vs_")
    got = services.stores.retrieve(tenant, store.id)
    assert got == store
    assert (got.name, got.description, got.metadata) == ("docs", "product docs", {"team": "search"})
    assert (got.status, got.usage_bytes, counts(got)) == ("completed", 0, (0, 0, 0, 0, 0))
    assert got.expires_after.days == 7 and got.expires_at == got.last_active_at + 7 * DAY
    assert (got.embedding_model, got.embedding_dimension, got.provider_id) == ("hash-v1", 384, "pgvector")

    bare = new_store(services, tenant)
    assert (bare.name, bare.metadata, bare.expires_after, bare.expires_at) == ("", None, None, None)


def test_create_with_file_ids_attaches_and_queues_them(services, queue, tenant):
    files = [upload(services, tenant, f"f{i}.txt", GOOD) for i in range(2)]
    store = new_store(services, tenant, file_ids=[f.id for f in files])
    assert store.status == "in_progress" and counts(store) == (2, 0, 0, 0, 2)
    assert [r.status for r in queue.run(tenant)] == ["completed", "completed"]
    done = services.stores.retrieve(tenant, store.id)
    assert done.status == "completed" and counts(done) == (0, 2, 0, 0, 2)
    assert set(ids(services.stores.list_files(tenant, store.id, None, page()))) == {f.id for f in files}


def test_create_with_a_missing_file_or_bad_model_creates_nothing(services, tenant):
    with pytest.raises(NotFound) as missing:
        new_store(services, tenant, file_ids=["file-doesnotexist"])
    assert missing.value.message == "No file found with id 'file-doesnotexist'."
    with pytest.raises(InvalidRequest) as model:
        new_store(services, tenant, embedding_model="no-such-model")
    assert model.value.param == "embedding_model"
    with pytest.raises(InvalidRequest) as backend:
        new_store(services, tenant, provider_id="elasticsearch")
    assert backend.value.param == "provider_id"
    assert services.stores.list(tenant, page()).items == []


def test_update_replaces_given_fields_only(services, tenant):
    store = new_store(services, tenant, name="old", metadata={"a": "1", "b": "2"})
    updated = services.stores.update(tenant, store.id, UpdateVectorStoreRequest(name="new", metadata={"c": "3"}))
    assert (updated.name, updated.metadata) == ("new", {"c": "3"})  # replaced, not merged
    kept = services.stores.update(tenant, store.id, UpdateVectorStoreRequest(metadata=None))
    assert (kept.name, kept.metadata) == ("new", None)
    expiring = services.stores.update(
        tenant, store.id, UpdateVectorStoreRequest(expires_after={"anchor": "last_active_at", "days": 2})
    )
    assert expiring.expires_at == expiring.last_active_at + 2 * DAY
    cleared = services.stores.update(tenant, store.id, UpdateVectorStoreRequest(expires_after=None, name=None))
    assert (cleared.name, cleared.expires_after, cleared.expires_at) == ("", None, None)
    assert services.stores.retrieve(tenant, store.id) == cleared


def test_delete_removes_store_and_chunks_but_keeps_files(services, queue, tenant, database):
    store = new_store(services, tenant)
    file = ingest(services, queue, tenant, store.id, "kept.txt", GOOD)
    assert chunk_rows(database, store.id) == 1

    deleted = services.stores.delete(tenant, store.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (store.id, "vector_store.deleted", True)
    assert chunk_rows(database, store.id) == 0
    for call in (
        lambda: services.stores.retrieve(tenant, store.id),
        lambda: services.stores.delete(tenant, store.id),
        lambda: services.stores.list_files(tenant, store.id, None, page()),
    ):
        with pytest.raises(NotFound):
            call()
    assert services.files.retrieve(tenant, file.id).id == file.id
    assert b"".join(services.files.content(tenant, file.id)[1]) == GOOD


# ------------------------------------------------------------------------------ paging


@pytest.fixture
def five(services, tenant) -> list[str]:
    return [new_store(services, tenant, name=f"s{i}").id for i in range(5)]


def test_list_pages_forward_with_after(services, tenant, five):
    s = five
    first = services.stores.list(tenant, page(limit=2))
    assert (ids(first), first.has_more) == ([s[4], s[3]], True)
    second = services.stores.list(tenant, page(limit=2, after=s[3]))
    assert (ids(second), second.has_more) == ([s[2], s[1]], True)
    last = services.stores.list(tenant, page(limit=2, after=s[1]))
    assert (ids(last), last.has_more) == ([s[0]], False)
    assert services.stores.list(tenant, page(limit=2, after=s[0])).items == []
    ascending = services.stores.list(tenant, page(limit=3, order="asc"))
    assert (ids(ascending), ascending.has_more) == (s[:3], True)
    assert ids(services.stores.list(tenant, page(limit=3, order="asc", after=s[2]))) == s[3:]


def test_list_before_returns_the_preceding_items_in_list_order(services, tenant, five):
    s = five
    assert ids(services.stores.list(tenant, page(limit=2, before=s[1]))) == [s[3], s[2]]
    assert ids(services.stores.list(tenant, page(limit=2, before=s[3]))) == [s[4]]
    assert ids(services.stores.list(tenant, page(limit=2, order="asc", before=s[3]))) == [s[1], s[2]]
    assert services.stores.list(tenant, page(before=s[4])).items == []
    assert ids(services.stores.list(tenant, page(after=s[4], before=s[0]))) == [s[3], s[2], s[1]]


def test_list_cursor_survives_deleting_its_store_and_is_validated(services, tenant, five):
    s = five
    services.stores.delete(tenant, s[3])
    assert ids(services.stores.list(tenant, page(limit=2, after=s[3]))) == [s[2], s[1]]
    assert ids(services.stores.list(tenant, page(), only=frozenset(s[:2]))) == [s[1], s[0]]
    with pytest.raises(InvalidRequest) as bad:
        services.stores.list(tenant, page(after="file-abc"))
    assert (bad.value.param, bad.value.code) == ("after", "invalid_value")


def test_list_files_pages_and_filters_by_status(services, queue, tenant):
    store = new_store(services, tenant)
    files = [upload(services, tenant, f"f{i}.txt", GOOD if i % 2 == 0 else BAD) for i in range(5)]
    for file in files:
        attach(services, tenant, store.id, file.id)
    queue.run(tenant)
    f = [file.id for file in files]
    assert ids(services.stores.list_files(tenant, store.id, None, page(limit=2))) == [f[4], f[3]]
    assert ids(services.stores.list_files(tenant, store.id, None, page(limit=2, after=f[3]))) == [f[2], f[1]]
    assert ids(services.stores.list_files(tenant, store.id, None, page(order="asc", before=f[2]))) == [f[0], f[1]]
    assert ids(services.stores.list_files(tenant, store.id, "failed", page(order="asc"))) == [f[1], f[3]]
    assert ids(services.stores.list_files(tenant, store.id, "completed", page(order="asc"))) == [f[0], f[2], f[4]]


# ------------------------------------------------------------------------------ counts and batches


def test_file_counts_follow_every_status(services, queue, tenant):
    store = new_store(services, tenant)
    good, bad, pending, cancelled = (
        upload(services, tenant, name, data)
        for name, data in (("g.txt", GOOD), ("b.txt", BAD), ("p.txt", GOOD), ("c.txt", GOOD))
    )
    attach(services, tenant, store.id, good.id)
    attach(services, tenant, store.id, bad.id)
    queue.run(tenant)
    attach(services, tenant, store.id, pending.id)
    batch = services.stores.create_batch(tenant, store.id, CreateFileBatchRequest(file_ids=[cancelled.id]))
    services.stores.cancel_batch(tenant, store.id, batch.id)

    now = services.stores.retrieve(tenant, store.id)
    assert counts(now) == (1, 1, 1, 1, 4) and now.status == "in_progress"
    queue.run(tenant)  # the pending file completes; the cancelled one is skipped
    after = services.stores.retrieve(tenant, store.id)
    assert counts(after) == (0, 2, 1, 1, 4) and after.status == "completed"
    assert services.stores.retrieve_file(tenant, store.id, cancelled.id).status == "cancelled"
    assert after.usage_bytes == sum(
        services.stores.retrieve_file(tenant, store.id, f.id).usage_bytes for f in (good, pending)
    )


def test_attaching_twice_returns_the_existing_file(services, queue, tenant):
    store = new_store(services, tenant)
    file = ingest(services, queue, tenant, store.id, "once.txt", GOOD, attributes={"v": 1})
    again = attach(services, tenant, store.id, file.id, attributes={"v": 2})
    assert again == file and queue.jobs == []
    assert counts(services.stores.retrieve(tenant, store.id)) == (0, 1, 0, 0, 1)


@pytest.mark.parametrize(
    "contents, status, expected",
    [
        ([GOOD, GOOD], "completed", (0, 2, 0, 0, 2)),
        ([GOOD, BAD], "completed", (0, 1, 1, 0, 2)),  # failed only when every file failed
        ([BAD, BAD], "failed", (0, 0, 2, 0, 2)),
    ],
    ids=["all-good", "mixed", "all-bad"],
)
def test_batch_status_is_derived_from_its_files(services, queue, tenant, contents, status, expected):
    store = new_store(services, tenant)
    files = [upload(services, tenant, f"f{i}.txt", data) for i, data in enumerate(contents)]
    batch = services.stores.create_batch(
        tenant,
        store.id,
        CreateFileBatchRequest(file_ids=[f.id for f in files] + [files[0].id]),  # a duplicate
    )
    assert batch.id.startswith("vsfb_") and batch.status == "in_progress"
    assert counts(batch) == (len(files), 0, 0, 0, len(files))
    queue.run(tenant)
    settled = services.stores.retrieve_batch(tenant, store.id, batch.id)
    assert (settled.status, counts(settled)) == (status, expected)
    # cancelling a settled batch changes nothing
    assert services.stores.cancel_batch(tenant, store.id, batch.id) == settled


def test_batch_cancel_and_per_file_values(services, queue, tenant, database):
    store = new_store(services, tenant)
    done = ingest(services, queue, tenant, store.id, "already.txt", GOOD)
    waiting = upload(services, tenant, "waiting.txt", GOOD)
    batch = services.stores.create_batch(
        tenant,
        store.id,
        CreateFileBatchRequest(files=[{"file_id": done.id}, {"file_id": waiting.id, "attributes": {"team": "x"}}]),
    )
    assert counts(batch) == (1, 1, 0, 0, 2)  # a file already in the store counts as it is
    assert services.stores.retrieve_file(tenant, store.id, waiting.id).attributes == {"team": "x"}
    cancelled = services.stores.cancel_batch(tenant, store.id, batch.id)
    assert (cancelled.status, counts(cancelled)) == ("cancelled", (0, 1, 0, 1, 2))
    assert [r.status for r in queue.run(tenant)] == ["skipped"]
    assert chunk_rows(database, store.id, waiting.id) == 0
    listed = services.stores.list_batch_files(tenant, store.id, batch.id, "cancelled", page())
    assert ids(listed) == [waiting.id]
    with pytest.raises(NotFound):
        services.stores.retrieve_batch(tenant, store.id, "vsfb_doesnotexist")


def test_a_batch_with_a_missing_file_attaches_nothing(services, tenant):
    store = new_store(services, tenant)
    file = upload(services, tenant, "a.txt", GOOD)
    with pytest.raises(NotFound) as missing:
        services.stores.create_batch(tenant, store.id, CreateFileBatchRequest(file_ids=[file.id, "file-doesnotexist"]))
    assert "file-doesnotexist" in missing.value.message
    assert counts(services.stores.retrieve(tenant, store.id)) == (0, 0, 0, 0, 0)


def test_expired_store_refuses_work_and_the_sweep_detaches_its_files(services, queue, tenant, database):
    store = new_store(services, tenant, expires_after={"anchor": "last_active_at", "days": 1})
    file = ingest(services, queue, tenant, store.id, "a.txt", GOOD)
    other = upload(services, tenant, "b.txt", GOOD)
    sql_execute(
        database, "UPDATE vector_stores SET last_active_at = last_active_at - %s WHERE id = %s", (2 * DAY, store.id)
    )

    assert services.stores.retrieve(tenant, store.id).status == "expired"
    for call in (
        lambda: attach(services, tenant, store.id, other.id),
        lambda: services.search.search(tenant, store.id, SearchRequest(query="glaciers")),
    ):
        with pytest.raises(InvalidRequest) as expired:
            call()
        assert expired.value.code == "expired" and "has expired" in expired.value.message

    assert services.stores.expire_stores() >= 1
    swept = services.stores.retrieve(tenant, store.id)
    assert (swept.status, counts(swept), swept.usage_bytes) == ("expired", (0, 0, 0, 0, 0), 0)
    assert chunk_rows(database, store.id) == 0
    assert services.files.retrieve(tenant, file.id).id == file.id


# ------------------------------------------------------------------------------ quotas


def set_quotas(services, project: str, **quotas) -> None:
    services.projects.update_quotas(ORG_ADMIN, project, UpdateQuotasRequest(**quotas))


def test_store_file_quota_is_insufficient_quota_and_all_or_nothing(services, project):
    set_quotas(services, project, max_vector_store_files=2)
    files = [upload(services, project, f"f{i}.txt", GOOD) for i in range(3)]
    with pytest.raises(InsufficientQuota) as on_create:
        new_store(services, project, file_ids=[f.id for f in files])
    assert (on_create.value.status_code, on_create.value.code, on_create.value.param) == (
        429,
        "insufficient_quota",
        "file_ids",
    )
    assert on_create.value.headers == {"x-should-retry": "false"}
    assert services.stores.list(project, page()).items == []  # nothing half-made

    store = new_store(services, project)
    with pytest.raises(InsufficientQuota) as on_batch:
        services.stores.create_batch(project, store.id, CreateFileBatchRequest(file_ids=[f.id for f in files]))
    assert on_batch.value.param == "file_ids"
    assert counts(services.stores.retrieve(project, store.id))[-1] == 0
    attach(services, project, store.id, files[0].id)
    attach(services, project, store.id, files[1].id)
    with pytest.raises(InsufficientQuota) as on_attach:
        attach(services, project, store.id, files[2].id)
    assert on_attach.value.param == "file_id"
    assert counts(services.stores.retrieve(project, store.id))[-1] == 2


def test_file_count_and_byte_quotas_refuse_uploads(services, project):
    set_quotas(services, project, max_files=2, max_bytes=100)
    upload(services, project, "a.txt", "a" * 40)
    with pytest.raises(InsufficientQuota) as too_big:
        upload(services, project, "big.txt", "b" * 70)
    assert too_big.value.param == "file"
    upload(services, project, "b.txt", "b" * 40)
    with pytest.raises(InsufficientQuota) as too_many:
        upload(services, project, "c.txt", "c")
    assert "2 of its 2 files" in too_many.value.message
    assert len(services.files.list(project, None, page()).items) == 2
    folder = services.settings.data_dir / "files" / project
    assert len(list(folder.iterdir())) == 2  # refused uploads leave no blob behind


def test_chunk_quota_fails_the_file_and_reserves_nothing(services, queue, project, database):
    set_quotas(services, project, max_vector_store_chunks=2)
    store = new_store(services, project)
    text = " ".join(f"word{i}" for i in range(400))
    failed = ingest(
        services,
        queue,
        project,
        store.id,
        "long.txt",
        text,
        chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}},
    )
    assert failed.status == "failed" and failed.last_error.code == "invalid_file"
    assert "Vector store chunk quota exceeded" in failed.last_error.message
    assert chunk_rows(database, store.id) == 0
    quotas = services.projects.quotas(ORG_ADMIN, project)
    assert quotas.max_vector_store_chunks == 2 and quotas.usage.chunks == 0
    assert ingest(services, queue, project, store.id, "short.txt", "fits in one chunk").status == "completed"
    assert services.projects.quotas(ORG_ADMIN, project).usage.chunks == 1


# ------------------------------------------------------------------------------ tenants


def test_another_tenants_objects_are_not_found(services, queue, tenant, other_tenant):
    store = new_store(services, tenant)
    file = ingest(services, queue, tenant, store.id, "mine.txt", GOOD)
    batch = services.stores.create_batch(tenant, store.id, CreateFileBatchRequest(file_ids=[file.id]))
    theirs = new_store(services, other_tenant)
    for call in (
        lambda: services.stores.retrieve(other_tenant, store.id),
        lambda: services.stores.update(other_tenant, store.id, UpdateVectorStoreRequest(name="x")),
        lambda: services.stores.delete(other_tenant, store.id),
        lambda: services.stores.list_files(other_tenant, store.id, None, page()),
        lambda: services.stores.retrieve_file(other_tenant, store.id, file.id),
        lambda: services.stores.detach(other_tenant, store.id, file.id),
        lambda: services.stores.retrieve_batch(other_tenant, store.id, batch.id),
        lambda: services.stores.cancel_batch(other_tenant, store.id, batch.id),
        lambda: attach(services, other_tenant, store.id, file.id),
        lambda: attach(services, other_tenant, theirs.id, file.id),  # my file, their store
        lambda: services.search.search(other_tenant, store.id, SearchRequest(query="glaciers")),
        lambda: services.files.retrieve(other_tenant, file.id),
        lambda: services.files.delete(other_tenant, file.id),
    ):
        with pytest.raises(NotFound):
            call()
    assert ids(services.stores.list(other_tenant, page())) == [theirs.id]
    assert services.files.list(other_tenant, None, page()).items == []
    assert services.stores.retrieve(tenant, store.id).file_counts.completed == 1  # untouched
