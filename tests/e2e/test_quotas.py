"""End to end: quotas per project and per vector store (files, bytes, chunks), set by an org admin.

Over a quota, the request fails with OpenAI's 429 `insufficient_quota` (which the SDK does not retry),
or, for chunks (known only once a file is parsed), the file ends `failed`; nothing partial is kept.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from tests.support.admin import admin_http, new_project
from tests.support.sdk import assert_error_body, attach, make_client, upload
from tests.support.servers import ADMIN_API_KEY

SMALL_CHUNKS = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}
LONG_TEXT = " ".join(f"word{i}" for i in range(1500))  # well over 3 chunks of 100 tokens


def set_quotas(server, project_id: str, **quotas) -> dict:
    with admin_http(server, ADMIN_API_KEY) as http:
        response = http.post(f"/projects/{project_id}/quotas", json=quotas)
    assert response.status_code == 200, response.text
    return response.json()


def get_quotas(server, project_id: str) -> dict:
    with admin_http(server, ADMIN_API_KEY) as http:
        return http.get(f"/projects/{project_id}/quotas").json()


def uploaded_blobs(server, project_id: str) -> int:
    folder = server.data_dir / "files" / project_id
    return len(list(folder.iterdir())) if folder.exists() else 0


def quota_429s(server) -> int:
    """POST /v1/files answers with status 429, as counted by the server's Prometheus /metrics."""
    text = httpx.get(server.base_url + "/metrics").text
    match = re.search(r'vector_store_api_requests_total\{method="POST",route="/v1/files",status="429"\} (\S+)', text)
    return int(float(match.group(1))) if match else 0


def test_file_count_and_byte_quotas(keys_server):
    project_id, key = new_project(keys_server, ADMIN_API_KEY, "file-quotas")
    quotas = set_quotas(keys_server, project_id, max_files=2, max_bytes=100)
    assert quotas["max_files"] == 2 and quotas["max_bytes"] == 100 and quotas["object"] == "project.quotas"
    client = make_client(keys_server.base_url, api_key=key).with_options(max_retries=3)

    first = upload(client, text="a" * 40)
    upload(client, text="b" * 40)
    rejected_before = quota_429s(keys_server)
    with pytest.raises(openai.RateLimitError) as info:
        upload(client, text="c")
    error = assert_error_body({"error": info.value.body})
    assert error["code"] == "insufficient_quota" and error["type"] == "insufficient_quota"
    assert "2 of its 2 files" in error["message"]
    assert info.value.response.headers["x-should-retry"] == "false"
    assert quota_429s(keys_server) == rejected_before + 1  # the SDK did not retry it
    assert uploaded_blobs(keys_server, project_id) == 2  # the rejected bytes were not kept
    assert len(client.files.list().data) == 2

    client.files.delete(first.id)
    with pytest.raises(openai.RateLimitError) as info:
        upload(client, text="c" * 61)  # 40 + 61 > 100 bytes
    assert "bytes" in info.value.message
    upload(client, text="c" * 60)  # exactly at the byte quota
    usage = get_quotas(keys_server, project_id)["usage"]
    assert usage == {"files": 2, "bytes": 100, "chunks": 0}

    reset = set_quotas(keys_server, project_id, max_files=None, max_bytes=None)
    assert reset["max_files"] == 0 and reset["max_bytes"] == 0  # back to the defaults (unlimited)
    upload(client, text="now fine")


def test_concurrent_uploads_never_overshoot(keys_server):
    project_id, key = new_project(keys_server, ADMIN_API_KEY, "concurrent-quota")
    set_quotas(keys_server, project_id, max_files=5)
    client = make_client(keys_server.base_url, api_key=key)

    def try_upload(i: int) -> bool:
        try:
            upload(client, name=f"f{i}.txt", text=f"file {i}")
            return True
        except openai.RateLimitError:
            return False

    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(try_upload, range(12)))
    assert outcomes.count(True) == 5
    assert len(client.files.list().data) == 5 and uploaded_blobs(keys_server, project_id) == 5


def test_vector_store_file_quota_is_all_or_nothing(keys_server):
    project_id, key = new_project(keys_server, ADMIN_API_KEY, "store-files")
    set_quotas(keys_server, project_id, max_vector_store_files=2)
    client = make_client(keys_server.base_url, api_key=key)
    files = [upload(client, name=f"{i}.txt", text=f"text {i}") for i in range(3)]
    store = client.vector_stores.create(name="two files max")

    with pytest.raises(openai.RateLimitError) as info:
        client.vector_stores.file_batches.create(store.id, file_ids=[f.id for f in files])
    assert info.value.code == "insufficient_quota" and "Nothing was attached" in info.value.message
    assert client.vector_stores.retrieve(store.id).file_counts.total == 0

    batch = client.vector_stores.file_batches.create_and_poll(store.id, file_ids=[f.id for f in files[:2]])
    assert batch.file_counts.completed == 2
    attach(client, store.id, files[0].id)  # attaching again adds nothing, so it is allowed
    with pytest.raises(openai.RateLimitError):
        client.vector_stores.files.create(store.id, file_id=files[2].id)
    assert client.vector_stores.retrieve(store.id).file_counts.total == 2

    stores_before = len(client.vector_stores.list().data)
    with pytest.raises(openai.RateLimitError):
        client.vector_stores.create(name="too many", file_ids=[f.id for f in files])
    assert len(client.vector_stores.list().data) == stores_before  # no half-made store


def test_chunk_quotas_fail_the_file_and_keep_nothing(keys_server):
    project_id, key = new_project(keys_server, ADMIN_API_KEY, "chunks")
    set_quotas(keys_server, project_id, max_vector_store_chunks=3)
    client = make_client(keys_server.base_url, api_key=key)
    store = client.vector_stores.create(name="small")
    long_file = upload(client, name="long.txt", text=LONG_TEXT)

    failed = client.vector_stores.files.create_and_poll(
        file_id=long_file.id, vector_store_id=store.id, chunking_strategy=SMALL_CHUNKS, poll_interval_ms=100
    )
    assert failed.status == "failed" and failed.last_error.code == "invalid_file"
    assert "chunk quota" in failed.last_error.message and "3" in failed.last_error.message
    assert keys_server.chunk_count(store.id) == 0
    store_now = client.vector_stores.retrieve(store.id)
    assert store_now.usage_bytes == 0 and store_now.file_counts.failed == 1 and store_now.file_counts.in_progress == 0

    small = upload(client, name="small.txt", text="just a few words")
    assert attach(client, store.id, small.id).usage_bytes > 0
    assert keys_server.chunk_count(store.id) == 1

    # The project's own chunk quota spans every store.
    set_quotas(keys_server, project_id, max_vector_store_chunks=None, max_chunks=2)
    other = client.vector_stores.create(name="other")
    two_chunks = upload(client, name="two.txt", text=" ".join(f"w{i}" for i in range(120)))
    first = client.vector_stores.files.create_and_poll(
        file_id=two_chunks.id, vector_store_id=other.id, chunking_strategy=SMALL_CHUNKS, poll_interval_ms=100
    )
    assert first.status == "failed" and "Project chunk quota" in first.last_error.message
    quotas = get_quotas(keys_server, project_id)
    assert quotas["usage"]["chunks"] == 1 and quotas["max_chunks"] == 2 and quotas["max_vector_store_chunks"] == 0
