"""End to end: usage counted per project, vector store and day, read back by admins through the SDK's
usage API; per-store stats; the local server's Prometheus /metrics."""

from __future__ import annotations

import calendar
import re
import time
from datetime import datetime, timezone

import httpx
import openai
import pytest
from tests.support.admin import admin_client, admin_http, new_project
from tests.support.sdk import attach, make_client, upload, wait_until
from tests.support.servers import ADMIN_API_KEY


def today_start() -> int:
    today = datetime.now(timezone.utc).date()
    return calendar.timegm(today.timetuple())


def store_usage(server, key: str, project_id: str, group_by: str) -> list[dict]:
    with admin_http(server, key) as http:
        response = http.get(
            "/usage/vector_stores",
            params={"start_time": today_start(), "project_ids[]": project_id, "group_by[]": group_by},
        )
    assert response.status_code == 200, response.text
    return response.json()["data"][-1]["results"]


def test_usage_is_counted_and_reported(keys_server):
    project_id, key = new_project(keys_server, ADMIN_API_KEY, "metered")
    client = make_client(keys_server.base_url, api_key=key)
    store = client.vector_stores.create(name="metered")
    file = upload(client, text="usage counting works per project and per store")
    attached = attach(client, store.id, file.id)
    for _ in range(3):
        client.vector_stores.search(store.id, query="counting")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.search("vs_missing", query="x")  # a request, not a search

    admin = admin_client(keys_server, ADMIN_API_KEY)

    def reported():
        page = admin.admin.organization.usage.vector_stores(
            start_time=today_start(), group_by=["project_id"], project_ids=[project_id]
        )
        results = page.data[-1].results
        return results if results and results[0].model_extra.get("num_files_ingested") == 1 else None

    result = wait_until(reported, timeout=10, what="the usage flush")[0]
    assert result.object == "organization.usage.vector_stores.result" and result.project_id == project_id
    assert result.usage_bytes == attached.usage_bytes
    extra = result.model_extra
    assert extra["num_searches"] == 3
    assert extra["num_chunks_embedded"] == keys_server.chunk_count(store.id) == 1
    assert extra["num_tokens_embedded"] > 5
    assert extra["num_files_uploaded"] == 1 and extra["bytes_uploaded"] == file.bytes
    routes = extra["requests_by_route"]
    assert routes["POST /v1/vector_stores/{vector_store_id}/search"] == 4
    assert routes["POST /v1/vector_stores"] == 1 and routes["POST /v1/files"] == 1
    assert extra["num_requests"] == sum(routes.values())

    per_store = store_usage(keys_server, ADMIN_API_KEY, project_id, "vector_store_id")
    assert {r["vector_store_id"]: r["num_searches"] for r in per_store} == {store.id: 3, "vs_missing": 0}
    assert {r["vector_store_id"]: r["usage_bytes"] for r in per_store}[store.id] == attached.usage_bytes


def test_usage_access_rules(keys_server):
    project_id, admin_key = new_project(keys_server, ADMIN_API_KEY, "own-usage", role="admin")
    other_project, _ = new_project(keys_server, ADMIN_API_KEY, "not-yours")
    assert store_usage(keys_server, admin_key, project_id, "project_id") == []  # nothing used yet, but allowed
    with admin_http(keys_server, admin_key) as http:
        denied = http.get("/usage/vector_stores", params={"start_time": today_start(), "project_ids[]": other_project})
        assert denied.status_code == 403
        bad = http.get("/usage/vector_stores", params={"start_time": today_start(), "bucket_width": "1h"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "bucket_width"
        inverted = http.get("/usage/vector_stores", params={"start_time": today_start(), "end_time": today_start() - 1})
        assert inverted.status_code == 400


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"start_time": -(2**64)}, "start_time"),  # schemathesis found it: a 500 (no such date)
        ({"start_time": 0, "end_time": 2**62}, "end_time"),
        ({"start_time": 0, "page": "page_9999-12-31", "limit": 7}, "page"),
    ],
)
def test_times_outside_the_calendar_are_400s(keys_server, params, param):
    with admin_http(keys_server, ADMIN_API_KEY) as http:
        response = http.get("/usage/vector_stores", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_vector_store_stats(keys_server):
    project_id, key = new_project(keys_server, ADMIN_API_KEY, "stats")
    client = make_client(keys_server.base_url, api_key=key)
    store = client.vector_stores.create(name="with stats")
    attached = attach(client, store.id, upload(client, text="some text to count").id)
    with admin_http(keys_server, ADMIN_API_KEY) as http:
        stats = http.get(f"/projects/{project_id}/vector_store_stats").json()
    assert stats["object"] == "list"
    assert stats["data"] == [
        {
            "object": "vector_store.stats",
            "id": store.id,
            "name": "with stats",
            "usage_bytes": attached.usage_bytes,
            "chunk_count": 1,
            "file_counts": {"in_progress": 0, "completed": 1, "failed": 0, "cancelled": 0, "total": 1},
        }
    ]


def test_prometheus_metrics(keys_server):
    def sample(text: str, name: str, labels: str = "") -> float:
        match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    before = httpx.get(keys_server.base_url + "/metrics")
    assert before.status_code == 200 and before.headers["content-type"].startswith("text/plain")
    _, key = new_project(keys_server, ADMIN_API_KEY, "prometheus")
    client = make_client(keys_server.base_url, api_key=key)
    store = client.vector_stores.create(name="p")
    attach(client, store.id, upload(client, text="metrics").id)
    client.vector_stores.search(store.id, query="metrics")
    time.sleep(0.1)
    after = httpx.get(keys_server.base_url + "/metrics").text

    search = 'method="POST",route="/v1/vector_stores/{vector_store_id}/search",status="200"'
    name = "vector_store_api_requests_total"
    assert sample(after, name, "{" + search + "}") == sample(before.text, name, "{" + search + "}") + 1
    for counter in ("vector_store_api_searches_total", "vector_store_api_files_ingested_total"):
        assert sample(after, counter) >= sample(before.text, counter) + 1
    assert "vector_store_api_request_duration_seconds_bucket" in after
    assert "proj_" not in after and key not in after  # no tenant data in the metrics
