"""End to end: a request's time budget (REQUEST_TIMEOUT_SECONDS) and the work of a client that left.

A request past its budget gets a 504 `server_error` / `timeout` and its work is stopped: a statement
it runs in PostgreSQL is cancelled (here: an UPDATE waiting for a row lock the test holds, so it
never applies). A client that disconnects stops its work the same way, before any budget runs out,
and a search it started stops embedding (the server's CPU goes quiet at once).
"""

from __future__ import annotations

import random
import time

import httpx
import openai
import pytest
from tests.support.cpu import cpu_seconds
from tests.support.db import row_locked, waiting_on_locks
from tests.support.sdk import make_client, wait_until
from tests.support.servers import ServerProcess, serve

BUDGET_SECONDS = 1.0


@pytest.fixture(scope="module")
def budget_server(tmp_path_factory) -> ServerProcess:
    yield from serve(tmp_path_factory.mktemp("server-budget"), REQUEST_TIMEOUT_SECONDS=str(BUDGET_SECONDS))


def test_a_request_past_its_budget_gets_a_504_and_its_statement_is_cancelled(budget_server):
    client = make_client(budget_server.base_url)
    store = client.vector_stores.create(name="before")
    with row_locked(budget_server, "vector_stores", store.id) as lock:
        began = time.monotonic()
        with pytest.raises(openai.InternalServerError) as info:
            client.with_options(timeout=15).vector_stores.update(store.id, name="after")  # its UPDATE waits for the lock
        took = time.monotonic() - began
        assert info.value.status_code == 504 and info.value.response.headers["x-request-id"].startswith("req_")
        assert info.value.body["type"] == "server_error" and info.value.body["code"] == "timeout"
        assert "REQUEST_TIMEOUT_SECONDS" in info.value.body["message"]
        assert BUDGET_SECONDS <= took < BUDGET_SECONDS + 1.5, took
        wait_until(lambda: not waiting_on_locks(budget_server), timeout=2, what="the UPDATE to be cancelled")
        print(f"504 after {took:.2f} s with a {BUDGET_SECONDS:g} s budget; no statement left waiting")
        lock.rollback()  # the lock is gone: an UPDATE still waiting would apply now
    time.sleep(0.3)
    assert client.vector_stores.retrieve(store.id).name == "before"
    assert client.vector_stores.update(store.id, name="after").name == "after"  # the server is fine


def test_a_client_that_disconnects_stops_its_statement_before_any_budget(budget_server):
    client = make_client(budget_server.base_url)
    store = client.vector_stores.create(name="before")
    with row_locked(budget_server, "vector_stores", store.id) as lock:
        with pytest.raises(openai.APITimeoutError):  # the client gives up and closes its connection
            client.with_options(timeout=0.3).vector_stores.update(store.id, name="after")
        # Well before the 1 s budget: the disconnect alone stopped it.
        wait_until(lambda: not waiting_on_locks(budget_server), timeout=0.5, interval=0.05, what="the cancel")
        lock.rollback()
    time.sleep(0.3)
    assert client.vector_stores.retrieve(store.id).name == "before"


def test_a_disconnected_clients_search_stops_embedding(local_model_server):
    """The real ONNX model: ten 4,096-character queries keep it busy for seconds. The client leaves
    after 0.3 s; a second later the server must be idle, not still embedding the other queries."""
    client = make_client(local_model_server.base_url)
    store = client.vector_stores.create(name="slow")
    # Made-up words split into many word pieces: about 2,000 tokens, eight model windows, per query.
    rng = random.Random(14)
    queries = [" ".join("".join(rng.choices("bcdfghjkmnpqrstvwxz0123456789", k=7)) for _ in range(500))[:4096] for _ in range(10)]
    pid = local_model_server.pid
    assert pid is not None

    began, cpu_before = time.monotonic(), cpu_seconds(pid)
    client.vector_stores.search(store.id, query=queries, extra_body={"search_mode": "vector"})
    full_search = (time.monotonic() - began, cpu_seconds(pid) - cpu_before)
    assert full_search[1] > 1.0, f"the search must be slow enough to tell: {full_search}"

    with httpx.Client(base_url=local_model_server.base_url, timeout=0.3) as http, pytest.raises(httpx.TimeoutException):
        http.post(  # the client gives up after 0.3 s and closes its connection
            f"/v1/vector_stores/{store.id}/search",
            json={"query": queries, "search_mode": "vector"},
            headers={"Authorization": f"Bearer {client.api_key}"},
        )
    left, cpu_at_leaving = time.monotonic(), cpu_seconds(pid)
    # The query being embedded when the client left is finished (one model call); then nothing more.
    cpu_seen = cpu_at_leaving
    while True:
        time.sleep(0.5)
        cpu_now = cpu_seconds(pid)
        if cpu_now - cpu_seen < 0.05 or time.monotonic() - left > 10:
            break
        cpu_seen = cpu_now
    idle_after, cpu_after_leaving = time.monotonic() - left, cpu_now - cpu_at_leaving
    time.sleep(1.0)
    idle_cpu = cpu_seconds(pid) - cpu_now
    print(
        f"full search: {full_search[0]:.2f} s, {full_search[1]:.2f} s CPU; the client left after 0.3 s: idle"
        f" {idle_after:.2f} s later ({cpu_after_leaving:.2f} s CPU), then {idle_cpu:.2f} s CPU in 1 s"
    )
    assert cpu_after_leaving < full_search[1] / 3, f"{cpu_after_leaving:.2f} s of CPU after the client left"
    assert idle_cpu < 0.1, f"still working after the client left: {idle_cpu:.2f} s of CPU in 1 s"
