"""The local server process itself: crash recovery, and a graceful shutdown that stops its embedded database."""

from __future__ import annotations

import io
import signal
import threading
import time
from pathlib import Path

import httpx
import psycopg
from tests.support.db import row_locked, waiting_on_locks
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


def _postmaster_pid(server: ServerProcess) -> int:
    return int((server.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])


def _process_running(pid: int) -> bool:
    """Alive and not a zombie (an orphaned postmaster waits to be reaped by init)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_sigterm_drains_within_the_grace_period_then_stops_the_database_and_exits_0(tmp_path):
    """Two requests in flight, each waiting in PostgreSQL on a row lock the test holds. After SIGTERM
    new requests get a 503 while the server drains; the one whose lock goes within the grace period
    finishes (200), the other is stopped at the end of it (503, its statement cancelled); then the
    server stops its embedded PostgreSQL and exits 0."""
    grace = 3.0
    server = ServerProcess(tmp_path, EMBEDDING_PROVIDER="hash", SHUTDOWN_GRACE_SECONDS=str(grace)).start()
    try:
        client = make_client(server.base_url)
        quick, slow = client.vector_stores.create(name="quick"), client.vector_stores.create(name="slow")
        postmaster = _postmaster_pid(server)
        answers: dict[str, httpx.Response] = {}

        def rename(store_id: str) -> None:
            answers[store_id] = httpx.post(
                f"{server.base_url}/v1/vector_stores/{store_id}",
                json={"name": "renamed"},
                headers={"Authorization": f"Bearer {client.api_key}"},
                timeout=60,
            )

        with row_locked(server, "vector_stores", quick.id) as quick_lock, row_locked(server, "vector_stores", slow.id):
            threads = [threading.Thread(target=rename, args=(s.id,)) for s in (quick, slow)]
            for thread in threads:
                thread.start()
            wait_until(lambda: len(waiting_on_locks(server)) == 2, timeout=5, interval=0.05, what="both requests")
            signalled = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            late = httpx.get(f"{server.base_url}/v1/vector_stores", headers={"Authorization": "Bearer sk-late"}, timeout=5)
            assert late.status_code == 503 and late.json()["error"]["code"] == "service_unavailable"
            assert late.headers["retry-after"] == "1"
            quick_lock.rollback()  # within the grace period: that request finishes
            threads[0].join(timeout=5)
            assert answers[quick.id].status_code == 200 and answers[quick.id].json()["name"] == "renamed"
            threads[1].join(timeout=grace + 5)
            stopped_after = time.monotonic() - signalled
            assert answers[slow.id].status_code == 503, answers[slow.id].text
            assert answers[slow.id].json()["error"]["message"].startswith("The server is shutting down")
            assert grace - 0.5 <= stopped_after < grace + 1.5, stopped_after
            assert server.process.wait(timeout=grace + 10) == 0
            exited_after = time.monotonic() - signalled
    finally:
        server.stop()
    print(f"SIGTERM: the left request answered 503 after {stopped_after:.2f} s, exit 0 after {exited_after:.2f} s")
    assert exited_after < grace + 5
    assert not _process_running(postmaster) and not database_running(server)
