"""A thin httpx client for the service's OpenAI-compatible API (keep-alive, one tenant per key).

httpx rather than the openai SDK: the SDK adds its own per-request work (retries, response model
construction) that would count against the service in latency figures.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from .data import Corpus, chunking_strategy

MAX_BATCH_FILES = 2000


class ApiClient:
    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 120):
        self.api_key = api_key or f"sk-bench-{uuid.uuid4().hex}"
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {self.api_key}"}, timeout=timeout
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ok(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            raise RuntimeError(f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text}")
        return response.json()

    def create_store(self, name: str, provider_id: str) -> str:
        return self._ok(self.http.post("/v1/vector_stores", json={"name": name, "provider_id": provider_id}))["id"]

    def upload(self, filename: str, text: str) -> str:
        files = {"file": (filename, text.encode("utf-8"), "text/plain")}
        return self._ok(self.http.post("/v1/files", files=files, data={"purpose": "assistants"}))["id"]

    def create_batch(self, store_id: str, files: list[dict[str, Any]]) -> str:
        body = {"files": files}
        return self._ok(self.http.post(f"/v1/vector_stores/{store_id}/file_batches", json=body))["id"]

    def wait_batch(self, store_id: str, batch_id: str, interval: float = 0.05, timeout: float = 3600) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            batch = self._ok(self.http.get(f"/v1/vector_stores/{store_id}/file_batches/{batch_id}"))
            if batch["status"] != "in_progress":
                return batch
            if time.monotonic() > deadline:
                raise TimeoutError(f"file batch {batch_id} still in progress after {timeout:.0f}s: {batch}")
            time.sleep(interval)

    def upload_corpus(self, corpus: Corpus) -> list[str]:
        """Upload every document; returns the file ids in document order."""
        return [self.upload(doc.name, doc.text) for doc in corpus.documents]

    def attach(self, store_id: str, corpus: Corpus, file_ids: list[str], strategy: dict | None = None) -> list[dict]:
        """Attach the files (each with its attributes and the static chunking: `strategy`, default
        data.chunking_strategy()) in batches of up to 2000 and wait for all of them."""
        strategy = strategy or chunking_strategy()
        entries = [
            {"file_id": fid, "attributes": doc.attributes, "chunking_strategy": strategy}
            for fid, doc in zip(file_ids, corpus.documents, strict=True)
        ]
        batch_ids = [
            self.create_batch(store_id, entries[i : i + MAX_BATCH_FILES]) for i in range(0, len(entries), MAX_BATCH_FILES)
        ]
        batches = [self.wait_batch(store_id, b) for b in batch_ids]
        failed = sum(b["file_counts"]["failed"] + b["file_counts"]["cancelled"] for b in batches)
        if failed:
            raise RuntimeError(f"{failed} files did not complete: {batches}")
        return batches

    def search_body(self, query: str, *, k: int = 10, mode: str = "hybrid", filters: dict | None = None) -> dict:
        """`vector` is sent as OpenAI's `ranker: none`; `keyword` as the `search_mode` extension."""
        body: dict[str, Any] = {"query": query, "max_num_results": k}
        if mode == "vector":
            body["ranking_options"] = {"ranker": "none"}
        elif mode == "keyword":
            body["search_mode"] = "keyword"
        if filters is not None:
            body["filters"] = filters
        return body

    def search(self, store_id: str, body: dict) -> list[dict]:
        return self._ok(self.http.post(f"/v1/vector_stores/{store_id}/search", json=body))["data"]
