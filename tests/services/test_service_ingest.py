"""The ingest pipeline in-process: attach -> in_progress -> parse, chunk, embed, index -> completed or
failed with `last_error`, never left in progress; re-ingest, detach, delete and cancel keep the
index exactly in step with the catalog."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import pytest
from service_harness import attach, chunk_rows, ingest, new_store, sql_execute, upload

from vector_store_api.container import Services, embedding_resolver
from vector_store_api.embeddings.factory import build_embedder
from vector_store_api.ingest.chunking import count_tokens
from vector_store_api.models.search import SearchRequest
from vector_store_api.models.vector_stores import CreateFileBatchRequest, CreateVectorStoreFileRequest
from vector_store_api.queue.base import IngestJob
from vector_store_api.queue.in_process import InProcessQueue
from vector_store_api.services.ingest import INTERNAL_ERROR_MESSAGE, IngestPipeline
from vector_store_api.services.vector_stores import VectorStoreService

DIMENSION = 384  # the hash embedder's default
VECTOR_BYTES = DIMENSION * 4
SMALL_CHUNKS = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}
LONG_TEXT = " ".join(f"word{i}" for i in range(400))


def expected_chunks(text: str, size: int = 100) -> int:
    return math.ceil(count_tokens(text) / size)


def pipeline_with(services: Services, hook: Callable[[], None] | None = None, **options) -> IngestPipeline:
    """A pipeline on the services' own adapters; `hook` runs once the job is read, before embedding
    (where a request racing the worker lands)."""

    def embedder_for(provider: str, model: str, dimension: int):
        if hook is not None:
            hook()
        return build_embedder(provider, model, dimension, services.settings)

    return IngestPipeline(
        services.catalog,
        services.indexes,
        services.blobs,
        embedder_for,
        services.projects.limits_for,
        services.usage,
        **options,
    )


def lexical_chunks(database, store_id: str) -> int:
    rows = sql_execute(database, "SELECT chunks FROM lexical_stores WHERE vector_store_id = %s", (store_id,))
    return rows[0]["chunks"] if rows else 0


# ------------------------------------------------------------------------------ success


def test_attached_file_is_in_progress_until_the_pipeline_completes_it(services, queue, tenant, database):
    store = new_store(services, tenant)
    file = upload(services, tenant, "long.txt", LONG_TEXT)
    created = attach(services, tenant, store.id, file.id, chunking_strategy=SMALL_CHUNKS)
    assert created.status == "in_progress" and created.usage_bytes == 0 and created.last_error is None
    assert created.chunk_count == 0
    waiting = services.stores.retrieve(tenant, store.id)
    assert waiting.status == "in_progress"
    assert (waiting.file_counts.in_progress, waiting.file_counts.total) == (1, 1)
    assert services.stores.file_content(tenant, store.id, file.id).data == []  # nothing parsed yet

    [result] = queue.run(tenant)

    chunks = expected_chunks(LONG_TEXT)
    assert chunks >= 4
    assert (result.status, result.chunks, result.tokens) == ("completed", chunks, count_tokens(LONG_TEXT))
    done = services.stores.retrieve_file(tenant, store.id, file.id)
    assert done.status == "completed" and done.last_error is None and done.chunk_count == chunks
    # usage_bytes: the chunks' text (no overlap: the text itself) plus one float32 vector per chunk.
    assert done.usage_bytes == len(LONG_TEXT.encode()) + chunks * VECTOR_BYTES
    assert chunk_rows(database, store.id, file.id) == chunks
    ref = services.stores.store_config(tenant, store.id).ref
    assert "".join(services.indexes.for_store(ref).file_chunk_texts(ref, file.id)) == LONG_TEXT
    settled = services.stores.retrieve(tenant, store.id)
    assert settled.status == "completed"
    assert (settled.file_counts.completed, settled.file_counts.in_progress) == (1, 0)
    assert settled.usage_bytes == done.usage_bytes
    assert services.stores.file_content(tenant, store.id, file.id).data[0].text == LONG_TEXT


def test_default_chunking_keeps_a_short_file_in_one_chunk(services, queue, tenant, database):
    store = new_store(services, tenant)
    text = "A short note about the lighthouse keeper."
    done = ingest(services, queue, tenant, store.id, "note.md", text)
    assert done.status == "completed"
    assert done.chunking_strategy.static.max_chunk_size_tokens == 800
    assert done.chunking_strategy.static.chunk_overlap_tokens == 400
    assert done.usage_bytes == len(text.encode()) + VECTOR_BYTES
    assert chunk_rows(database, store.id) == 1


def test_ingest_is_counted_in_the_usage_report(services, queue, project):
    store = new_store(services, project)
    done = ingest(services, queue, project, store.id, "u.txt", LONG_TEXT, chunking_strategy=SMALL_CHUNKS)
    report = services.usage_reports.vector_store_usage(
        [project],
        start_time=store.created_at - 5,
        end_time=None,
        vector_store_ids=None,
        group_by=["vector_store_id"],
        limit=1,
        page=None,
        now=store.created_at + 5,
    )
    [result] = report.data[0].results
    assert result.vector_store_id == store.id
    assert result.num_files_ingested == 1
    assert result.num_chunks_embedded == expected_chunks(LONG_TEXT)
    assert result.num_tokens_embedded == count_tokens(LONG_TEXT)
    assert result.usage_bytes == done.usage_bytes


# ------------------------------------------------------------------------------ failures

BAD_FILES = {
    "empty_txt": ("empty.txt", b"", "invalid_file"),
    "blank_md": ("blank.md", b"   \n\n\t  \n  \r\n", "invalid_file"),
    "binary_txt": ("fake.txt", b"\x00\x01\x02\xff" * 64, "invalid_file"),
    "corrupt_pdf": ("x.pdf", b"this is not a pdf at all " * 40, "invalid_file"),
    "corrupt_docx": ("x.docx", b"PK\x03\x04" + b"\x13" * 512, "invalid_file"),
    "exe": ("program.exe", b"MZ\x90\x00" + b"\x00" * 256, "unsupported_file"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_unparseable_file_ends_failed_with_last_error(services, queue, tenant, database, kind):
    filename, data, code = BAD_FILES[kind]
    store = new_store(services, tenant)
    file = upload(services, tenant, filename, data)
    attach(services, tenant, store.id, file.id)

    assert [r.status for r in queue.run(tenant)] == ["failed"]

    failed = services.stores.retrieve_file(tenant, store.id, file.id)
    assert failed.status == "failed"
    assert failed.last_error is not None and failed.last_error.code == code
    assert filename in failed.last_error.message
    assert failed.usage_bytes == 0
    assert chunk_rows(database, store.id) == 0
    settled = services.stores.retrieve(tenant, store.id)
    assert settled.status == "completed"  # nothing in progress any more
    assert (settled.file_counts.failed, settled.file_counts.in_progress, settled.file_counts.total) == (1, 0, 1)
    assert services.stores.file_content(tenant, store.id, file.id).data == []


def test_unexpected_error_is_retried_then_settles_as_server_error(services, queue, tenant):
    store = new_store(services, tenant)
    file = upload(services, tenant, "gone.txt", "bytes that will vanish")
    attach(services, tenant, store.id, file.id)
    services.blobs.delete(f"{tenant}/{file.id}")  # the blob store loses the file: not the file's fault
    job = IngestJob(tenant, store.id, file.id)

    with pytest.raises(FileNotFoundError):  # a transient error: the queue will try again
        services.pipeline.process(job, token="delivery-1", final_attempt=False)
    assert services.stores.retrieve_file(tenant, store.id, file.id).status == "in_progress"
    # Meanwhile the first job still holds the file: a second job (a duplicate message) leaves it alone.
    assert services.pipeline.process(job, token="duplicate").status == "skipped"

    assert services.pipeline.process(job, token="delivery-1", final_attempt=True).status == "failed"
    failed = services.stores.retrieve_file(tenant, store.id, file.id)
    assert failed.status == "failed"
    assert (failed.last_error.code, failed.last_error.message) == ("server_error", INTERNAL_ERROR_MESSAGE)
    assert services.pipeline.process(job).status == "skipped"  # a redelivery changes nothing


def test_a_file_over_the_token_limit_fails_before_embedding(services, queue, tenant, database):
    embedded = []
    pipeline = pipeline_with(services, hook=lambda: embedded.append(1), max_file_tokens=50)
    store = new_store(services, tenant)
    file = upload(services, tenant, "long.txt", LONG_TEXT)
    attach(services, tenant, store.id, file.id)
    assert pipeline.process(IngestJob(tenant, store.id, file.id)).status == "failed"
    failed = services.stores.retrieve_file(tenant, store.id, file.id)
    assert failed.last_error.code == "invalid_file"
    assert f"has {count_tokens(LONG_TEXT)} tokens; the limit is 50 tokens" in failed.last_error.message
    assert embedded == [] and chunk_rows(database, store.id) == 0


def test_a_queue_that_refuses_the_job_fails_the_file_instead_of_leaving_it_in_progress(services, tenant):
    class BrokenQueue:
        def enqueue(self, jobs):
            raise ConnectionError("queue unreachable")

    stores = VectorStoreService(
        services.catalog,
        services.indexes,
        services.blobs,
        BrokenQueue(),
        embedding_resolver(services.settings),
        services.indexes.providers,
        services.projects.limits_for,
    )
    store = new_store(services, tenant)
    file = upload(services, tenant, "a.txt", "queued nowhere")
    with pytest.raises(ConnectionError):
        stores.attach(tenant, store.id, CreateVectorStoreFileRequest(file_id=file.id))
    failed = services.stores.retrieve_file(tenant, store.id, file.id)
    assert failed.status == "failed"
    assert failed.last_error.code == "server_error" and "could not be queued" in failed.last_error.message


def test_in_process_worker_threads_settle_every_file(services, tenant):
    workers = InProcessQueue(services.pipeline.process, workers=2)
    stores = VectorStoreService(
        services.catalog,
        services.indexes,
        services.blobs,
        workers,
        embedding_resolver(services.settings),
        services.indexes.providers,
        services.projects.limits_for,
    )
    try:
        store = new_store(services, tenant)
        good = [upload(services, tenant, f"g{i}.txt", f"document number {i} about rivers") for i in range(3)]
        bad = upload(services, tenant, "bad.bin", b"\x00" * 64)
        batch = stores.create_batch(tenant, store.id, CreateFileBatchRequest(file_ids=[f.id for f in good] + [bad.id]))
        assert workers.join(timeout=60)
    finally:
        workers.close()
    settled = services.stores.retrieve_batch(tenant, store.id, batch.id)
    assert settled.status == "completed"
    assert (settled.file_counts.completed, settled.file_counts.failed, settled.file_counts.in_progress) == (3, 1, 0)


# ------------------------------------------------------------------------------ re-ingest, removal


def test_reingest_replaces_the_chunks_instead_of_adding_to_them(services, queue, tenant, database):
    store = new_store(services, tenant)
    first = ingest(services, queue, tenant, store.id, "r.txt", LONG_TEXT, chunking_strategy=SMALL_CHUNKS)
    chunks = chunk_rows(database, store.id, first.id)
    assert chunks == expected_chunks(LONG_TEXT) == lexical_chunks(database, store.id)

    # A worker that crashed after indexing, before settling: the file reads in_progress again, and
    # start-up resumes it.
    sql_execute(
        database, "UPDATE vector_store_files SET status = 'in_progress' WHERE vector_store_id = %s", (store.id,)
    )
    assert services.resume_unfinished() >= 1
    assert [r.status for r in queue.run(tenant)] == ["completed"]

    again = services.stores.retrieve_file(tenant, store.id, first.id)
    assert again.status == "completed" and again.usage_bytes == first.usage_bytes
    assert chunk_rows(database, store.id, first.id) == chunks
    assert lexical_chunks(database, store.id) == chunks  # BM25 statistics not counted twice
    assert services.stores.retrieve(tenant, store.id).usage_bytes == first.usage_bytes
    hits = services.search.search(
        tenant, store.id, SearchRequest(query="word7", max_num_results=50, search_mode="keyword")
    )
    assert len(hits.data) == 1  # "word7" is in one chunk, indexed once


def test_detach_removes_the_chunks_and_keeps_the_file(services, queue, tenant, database):
    store = new_store(services, tenant)
    keep = ingest(services, queue, tenant, store.id, "keep.txt", "a quokka document that stays")
    gone = ingest(services, queue, tenant, store.id, "gone.txt", "a wombat document that goes")
    deleted = services.stores.detach(tenant, store.id, gone.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (gone.id, "vector_store.file.deleted", True)
    assert chunk_rows(database, store.id, gone.id) == 0
    assert chunk_rows(database, store.id, keep.id) == 1
    after = services.stores.retrieve(tenant, store.id)
    assert after.file_counts.total == 1 and after.usage_bytes == keep.usage_bytes
    assert services.files.retrieve(tenant, gone.id).id == gone.id  # the File itself stays
    search = SearchRequest(query="wombat", search_mode="keyword")
    assert services.search.search(tenant, store.id, search).data == []


def test_deleting_a_file_removes_its_chunks_from_every_store(services, queue, tenant, database):
    one, two = new_store(services, tenant), new_store(services, tenant)
    file = upload(services, tenant, "shared.txt", "a document in two stores")
    for store in (one, two):
        attach(services, tenant, store.id, file.id)
    queue.run(tenant)
    assert chunk_rows(database, one.id) == chunk_rows(database, two.id) == 1

    assert services.files.delete(tenant, file.id).deleted is True
    assert chunk_rows(database, one.id) == chunk_rows(database, two.id) == 0
    for store in (one, two):
        after = services.stores.retrieve(tenant, store.id)
        assert (after.file_counts.total, after.usage_bytes) == (0, 0)
    assert not (services.settings.data_dir / "files" / tenant / file.id).exists()  # the blob is gone


@pytest.mark.parametrize("how", ["detach", "delete_file", "cancel_batch"])
def test_removing_a_file_while_it_is_processed_leaves_no_chunks(services, queue, tenant, database, how):
    store = new_store(services, tenant)
    file = upload(services, tenant, "racing.txt", LONG_TEXT)
    batch = services.stores.create_batch(tenant, store.id, CreateFileBatchRequest(file_ids=[file.id]))
    remove = {
        "detach": lambda: services.stores.detach(tenant, store.id, file.id),
        "delete_file": lambda: services.files.delete(tenant, file.id),
        "cancel_batch": lambda: services.stores.cancel_batch(tenant, store.id, batch.id),
    }[how]
    pipeline = pipeline_with(services, hook=remove)  # the request lands while the worker embeds

    assert pipeline.process(IngestJob(tenant, store.id, file.id)).status == "skipped"
    assert chunk_rows(database, store.id) == 0
    assert lexical_chunks(database, store.id) == 0
    after = services.stores.retrieve(tenant, store.id)
    assert after.usage_bytes == 0 and after.file_counts.in_progress == 0
    if how == "cancel_batch":
        assert services.stores.retrieve_file(tenant, store.id, file.id).status == "cancelled"
        assert services.stores.retrieve_batch(tenant, store.id, batch.id).status == "cancelled"


def test_attributes_updated_while_processing_reach_the_chunks(services, tenant):
    store = new_store(services, tenant)
    file = upload(services, tenant, "attrs.txt", "a document about harbor cranes")
    attach(services, tenant, store.id, file.id, attributes={"rev": 1})
    pipeline = pipeline_with(services, hook=lambda: services.stores.update_file(tenant, store.id, file.id, {"rev": 2}))
    assert pipeline.process(IngestJob(tenant, store.id, file.id)).status == "completed"

    assert services.stores.retrieve_file(tenant, store.id, file.id).attributes == {"rev": 2}

    def hits(rev: int) -> list:
        request = SearchRequest(query="harbor cranes", filters={"type": "eq", "key": "rev", "value": rev})
        return services.search.search(tenant, store.id, request).data

    assert hits(1) == []
    assert [(h.file_id, h.attributes) for h in hits(2)] == [(file.id, {"rev": 2})]


# ------------------------------------------------------------------------------ leases, retries, the stuck-ingest sweep


def lease_of(database, store_id: str, file_id: str) -> dict:
    rows = sql_execute(
        database,
        "SELECT status, lease_token, lease_expires_at, resumes FROM vector_store_files"
        " WHERE vector_store_id = %s AND file_id = %s",
        (store_id, file_id),
    )
    return rows[0]


def expire_lease(database, store_id: str, file_id: str) -> None:
    """What the clock does to the lease of a job that died: no renewal, so it runs out."""
    sql_execute(
        database,
        "UPDATE vector_store_files SET lease_expires_at = 0 WHERE vector_store_id = %s AND file_id = %s",
        (store_id, file_id),
    )


def failing_pipeline(services: Services, failures: list[Exception], **options) -> IngestPipeline:
    """A pipeline whose embedder step raises the given errors, one per attempt, then works."""

    def hook() -> None:
        if failures:
            raise failures.pop(0)

    return pipeline_with(services, hook=hook, **options)


def test_a_dependency_down_longer_than_the_retry_window_fails_the_file_naming_it(services, tenant):
    from vector_store_api.errors import DependencyDown

    pipeline = failing_pipeline(services, [DependencyDown("the embeddings endpoint", 1.0)] * 2, retry_seconds=60)
    store = new_store(services, tenant)
    file = upload(services, tenant, "later.txt", "embedded once the endpoint is back")
    attach(services, tenant, store.id, file.id)
    job = IngestJob(tenant, store.id, file.id)

    started = time.time()
    with pytest.raises(DependencyDown):  # within the window: re-raised for the queue to retry
        pipeline.process(job, token="t", first_attempt_at=started, final_attempt=False)
    assert services.stores.retrieve_file(tenant, store.id, file.id).status == "in_progress"
    # 61 s after the first attempt the window is over: the file fails, saying what was down.
    assert pipeline.process(job, token="t", first_attempt_at=started - 61, final_attempt=False).status == "failed"
    failed = services.stores.retrieve_file(tenant, store.id, file.id)
    assert failed.last_error.code == "server_error"
    assert "the embeddings endpoint cannot be reached" in failed.last_error.message
    assert "retried for 61 s" in failed.last_error.message


def test_the_in_process_queue_retries_through_an_outage_until_the_file_completes(services, tenant):
    from vector_store_api.errors import DependencyDown

    # More failures than the old fixed 3 attempts: only the retry window bounds them now.
    pipeline = failing_pipeline(services, [DependencyDown("the database", 0.01)] * 6)
    workers = InProcessQueue(pipeline.process, workers=1, backoff_seconds=0.01, backoff_max_seconds=0.05)
    try:
        store = new_store(services, tenant)
        file = upload(services, tenant, "outage.txt", "a file attached just before an outage")
        attach(services, tenant, store.id, file.id)
        workers.enqueue([IngestJob(tenant, store.id, file.id)])
        assert workers.join(timeout=30)
    finally:
        workers.close()
    assert services.stores.retrieve_file(tenant, store.id, file.id).status == "completed"


def test_the_sweep_resumes_files_whose_job_died_or_was_lost_and_leaves_live_ones(services, queue, tenant, database):
    store = new_store(services, tenant)
    died, lost, live = (upload(services, tenant, f"{name}.txt", f"the {name} file") for name in ("died", "lost", "live"))
    for file in (died, lost, live):
        attach(services, tenant, store.id, file.id)
    queue.jobs.clear()  # the attach messages: `lost` never reaches a worker; the others are claimed below
    for file in (died, live):
        services.catalog.claim_ingest_target(tenant, store.id, file.id, int(time.time()), f"job-{file.id}", int(time.time()) + 60)
    expire_lease(database, store.id, died.id)  # its worker was killed: nobody renews the lease
    sql_execute(  # attached before the unclaimed threshold
        database, "UPDATE vector_store_files SET created_at = created_at - 100000 WHERE file_id = %s", (lost.id,)
    )

    assert services.resume_stuck() == 2
    assert sorted(job.file_id for job in queue.jobs) == sorted([died.id, lost.id])
    assert lease_of(database, store.id, died.id)["resumes"] == 1  # a death is counted
    assert lease_of(database, store.id, lost.id)["resumes"] == 0  # a lost message is not
    assert services.resume_stuck() == 0  # reserved for the jobs just queued: the next sweep waits

    assert [r.status for r in queue.run(tenant)] == ["completed", "completed"]
    assert services.stores.retrieve_file(tenant, store.id, live.id).status == "in_progress"  # its job is alive


def test_a_file_whose_job_keeps_dying_fails_instead_of_looping(services, queue, tenant, database):
    store = new_store(services, tenant)
    file = upload(services, tenant, "poison.txt", "this file kills its worker, say")
    attach(services, tenant, store.id, file.id)
    queue.jobs.clear()
    max_resumes = services.settings.ingest_max_resumes
    for death in range(max_resumes + 1):
        services.catalog.claim_ingest_target(tenant, store.id, file.id, int(time.time()), f"job-{death}", int(time.time()) + 60)
        expire_lease(database, store.id, file.id)
        assert services.resume_stuck() == 1
        queue.jobs.clear()
    assert lease_of(database, store.id, file.id)["resumes"] == max_resumes + 1

    assert services.pipeline.process(IngestJob(tenant, store.id, file.id)).status == "failed"
    failed = services.stores.retrieve_file(tenant, store.id, file.id)
    assert failed.last_error.code == "server_error"
    assert f"stopped unexpectedly {max_resumes + 1} times" in failed.last_error.message
    assert chunk_rows(database, store.id, file.id) == 0


def test_a_running_job_renews_its_lease(services, tenant, database):
    seen: list[int] = []
    store = new_store(services, tenant)
    file = upload(services, tenant, "slow.txt", "a job slower than its lease")

    def slow() -> None:  # the job works for 2.5 s with a 3 s lease renewed every second
        first = lease_of(database, store.id, file.id)["lease_expires_at"]
        time.sleep(2.5)
        seen.extend([first, lease_of(database, store.id, file.id)["lease_expires_at"]])

    pipeline = pipeline_with(services, hook=slow, lease_seconds=3)
    attach(services, tenant, store.id, file.id)
    assert pipeline.process(IngestJob(tenant, store.id, file.id)).status == "completed"
    assert seen[1] >= seen[0] + 2, seen


def test_a_job_waiting_for_its_retry_does_not_hold_a_worker(services, tenant):
    from vector_store_api.errors import DependencyDown

    store = new_store(services, tenant)
    stuck = upload(services, tenant, "stuck.txt", "its dependency stays down for the whole test")
    fine = upload(services, tenant, "fine.txt", "an ordinary file queued behind it")

    def embedder_down_for_stuck(job, **attempt):
        if job.file_id == stuck.id:
            raise DependencyDown("the embeddings endpoint", 1.0)
        return services.pipeline.process(job, **attempt)

    workers = InProcessQueue(embedder_down_for_stuck, workers=1, backoff_seconds=5, backoff_max_seconds=5)
    try:
        attach(services, tenant, store.id, stuck.id)
        attach(services, tenant, store.id, fine.id)
        workers.enqueue([IngestJob(tenant, store.id, stuck.id), IngestJob(tenant, store.id, fine.id)])
        deadline = time.monotonic() + 4  # before the stuck file's first retry is due
        while services.stores.retrieve_file(tenant, store.id, fine.id).status != "completed":
            assert time.monotonic() < deadline, "the only worker is held by a job waiting to retry"
            time.sleep(0.05)
        assert services.stores.retrieve_file(tenant, store.id, stuck.id).status == "in_progress"
    finally:
        workers.close()
