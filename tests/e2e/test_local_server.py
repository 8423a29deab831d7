"""The local server process itself: crash recovery and a clean shutdown of its embedded database."""

from __future__ import annotations

import io

import psycopg
from tests.support.sdk import make_client, wait_until
from tests.support.servers import ServerProcess


def database_running(server: ServerProcess) -> bool:
    return (server.data_dir / "postgres" / "postmaster.pid").exists()


def test_work_left_in_progress_by_a_crash_is_resumed_and_shutdown_stops_the_database(tmp_path):
    server = ServerProcess(tmp_path, EMBEDDING_PROVIDER="hash").start()
    client = make_client(server.base_url)
    store = client.vector_stores.create(name="crash")
    done = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("notes.txt", io.BytesIO(b"zebra crossing rules for pedestrians"))
    )
    assert done.status == "completed"

    # Crash: the process dies without any cleanup, mid-way through (re)ingesting the file.
    server.process.kill()
    server.process.wait()
    with psycopg.connect(server.database_url, autocommit=True) as conn:
        conn.execute("UPDATE vector_store_files SET status = 'in_progress', usage_bytes = 0 WHERE file_id = %s", (done.id,))
        conn.execute("DELETE FROM chunks WHERE file_id = %s", (done.id,))

    server.start()
    try:
        resumed = wait_until(
            lambda: (f := client.vector_stores.files.retrieve(done.id, vector_store_id=store.id)).status == "completed"
            and f
        )
        assert resumed.usage_bytes > 0
        hits = client.vector_stores.search(store.id, query="zebra crossing")
        assert [h.file_id for h in hits.data] == [done.id]
        assert client.vector_stores.retrieve(store.id).file_counts.completed == 1
    finally:
        server.stop()

    # Stopping the server stops its embedded PostgreSQL too, even after the earlier crash.
    wait_until(lambda: not database_running(server), timeout=30)


def test_existing_stores_keep_their_embedding_model_when_the_default_changes(tmp_path):
    server = ServerProcess(tmp_path, EMBEDDING_PROVIDER="hash").start()
    client = make_client(server.base_url)
    try:
        old = client.vector_stores.create(name="old")
        client.vector_stores.files.upload_and_poll(
            vector_store_id=old.id, file=("a.txt", io.BytesIO(b"granite quarry safety"))
        )
    finally:
        server.stop()

    server.env["EMBEDDING_DIMENSION"] = "128"
    server.start()
    try:
        new = client.vector_stores.create(name="new")
        assert new.model_extra["embedding_dimension"] == 128
        assert client.vector_stores.retrieve(old.id).model_extra["embedding_dimension"] == 384
        client.vector_stores.files.upload_and_poll(
            vector_store_id=new.id, file=("b.txt", io.BytesIO(b"granite countertop care"))
        )
        for store in (old, new):  # each store is searched with the model it was created with
            hits = client.vector_stores.search(store.id, query="granite", ranking_options={"ranker": "none"})
            assert len(hits.data) == 1 and hits.data[0].score > 0
    finally:
        server.stop()


def test_server_on_an_external_database_url(tmp_path, pg_url):
    """DATABASE_URL set: no embedded server is started; the schema migrates idempotently onto it."""
    server = ServerProcess(tmp_path, EMBEDDING_PROVIDER="hash")
    server.env["DATABASE_URL"] = pg_url
    server.start()
    try:
        client = make_client(server.base_url)
        store = client.vector_stores.create(name="external")
        done = client.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=("c.txt", io.BytesIO(b"external database works"))
        )
        assert done.status == "completed"
        assert not (tmp_path / "postgres").exists()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM vector_stores WHERE id = %s", (store.id,)).fetchone()
        assert row[0] == 1
    finally:
        server.stop()
