"""SDK helpers not covered elsewhere: files.upload (no polling), wait_for_processing, retrieve_content."""

from __future__ import annotations

import io
import time

import pytest


def test_vector_store_files_upload_returns_in_progress_then_completes(client):
    store = client.vector_stores.create(name="upload")
    attached = client.vector_stores.files.upload(
        vector_store_id=store.id,
        file=("plain.txt", io.BytesIO(b"kiwi fruit is rich in vitamin c")),
        chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50}},
    )
    assert attached.status in ("in_progress", "completed")
    assert attached.chunking_strategy.static.max_chunk_size_tokens == 200
    done = client.vector_stores.files.poll(attached.id, vector_store_id=store.id, poll_interval_ms=50)
    assert done.status == "completed" and done.id == attached.id
    assert client.files.retrieve(attached.id).filename == "plain.txt"


def test_wait_for_processing_and_deprecated_retrieve_content(client):
    uploaded = client.files.create(file=("doc.md", io.BytesIO("# Title\nbody é".encode())), purpose="assistants")
    started = time.monotonic()
    processed = client.files.wait_for_processing(uploaded.id, poll_interval=0.1, max_wait_seconds=30)
    assert processed.status == "processed"
    assert time.monotonic() - started < 30
    with pytest.warns(DeprecationWarning):
        assert client.files.retrieve_content(uploaded.id) == "# Title\nbody é"
