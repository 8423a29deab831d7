"""Helpers shared by the end-to-end SDK tests."""

from __future__ import annotations

import time

import psycopg
import pytest


def upload(client, name: str = "note.txt", text: str = "hello world", purpose: str = "assistants", **kw):
    return client.files.create(file=(name, text.encode("utf-8"), "text/plain"), purpose=purpose, **kw)


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2, what: str = "condition"):
    """Poll `predicate` until it returns a truthy value (returned) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def attach(client, store_id: str, file_id: str):
    vsf = client.vector_stores.files.create_and_poll(
        file_id, vector_store_id=store_id, poll_interval_ms=100, max_wait_seconds=60
    )
    assert vsf.status == "completed", vsf
    return vsf


def assert_error_body(body: dict) -> dict:
    """OpenAI's error shape: {"error": {message, type, param, code}}; returns the inner error."""
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    return error


def db_execute(server, sql: str, params=()):
    with psycopg.connect(server.database_url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else cur.rowcount
