"""Part 1, search overhead: the same queries, raw against the backend vs through the API.

For each case, every query is sent once raw and once to `POST /v1/vector_stores/{id}/search`
(httpx keep-alive client, JSON in and out, response parsed), alternating which goes first, after a
warm-up. Embedding is excluded: the server uses the deterministic `hash` embedder (tens of
microseconds per query) and the raw side sends the vectors that embedder produces.

Cases (k = 10 results):
- `dense`: `ranking_options.ranker = "none"` (dense only) vs the raw dense query of the plan the
  service picks for the store (HNSW above EXACT_SEARCH_MAX_CHUNKS matching chunks, else exact);
- `dense, 1% filter`: the same with the selective attribute filter;
- `hybrid`: the default ranking (dense + full text, fused) vs the raw dense query then the raw text
  query, one after the other.
The raw side asks for k rows; the service fetches max(4k, 40) candidates from each list before
fusion (part of what is measured). `agreement` is the overlap of the two top-10 lists (dense cases).
"""

from __future__ import annotations

import time

from .context import StoreUnderTest
from .data import attribute_filter
from .stats import percentiles, ratio

K = 10
TARGET_RATIO = 1.5
CASES = (("dense", True, False), ("dense, 1% filter", True, True), ("hybrid", False, False))


def _raw_call(sut: StoreUnderTest, i: int, dense_only: bool, filtered: bool) -> list:
    hits = sut.raw_dense(sut.query_vectors[i], K, filtered)
    if not dense_only:
        hits = hits + sut.raw.text(sut.queries[i], K, filtered)
    return hits


def run_case(sut: StoreUnderTest, name: str, dense_only: bool, filtered: bool, n: int, warmup: int) -> dict:
    filters = attribute_filter() if filtered else None
    bodies = [sut.client.search_body(q, k=K, dense_only=dense_only, filters=filters) for q in sut.queries]
    n = min(n, len(bodies))
    for i in range(min(warmup, n)):
        _raw_call(sut, i, dense_only, filtered)
        sut.client.search(sut.store_id, bodies[i])
    raw_s, api_s, overlap = [], [], []
    for i in range(n):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for side in order:
            started = time.perf_counter()
            if side == 0:
                raw_hits = _raw_call(sut, i, dense_only, filtered)
                raw_s.append(time.perf_counter() - started)
            else:
                api_hits = sut.client.search(sut.store_id, bodies[i])
                api_s.append(time.perf_counter() - started)
        if dense_only:
            raw_keys = {(f, t) for f, t, _ in raw_hits}
            overlap.append(len(raw_keys & {(h["file_id"], h["content"][0]["text"]) for h in api_hits}) / K)
    raw, api = percentiles(raw_s), percentiles(api_s)
    result = {
        "backend": sut.backend,
        "case": name,
        "service_path": sut.service_path(filtered),
        "raw": raw,
        "api": api,
        "ratio_p50": ratio(api["p50"], raw["p50"]),
        "ratio_p95": ratio(api["p95"], raw["p95"]),
        "agreement": sum(overlap) / len(overlap) if overlap else None,
    }
    result["met"] = result["ratio_p50"] <= TARGET_RATIO
    return result


def run(sut: StoreUnderTest, n: int, warmup: int) -> list[dict]:
    results = []
    for name, dense_only, filtered in CASES:
        result = run_case(sut, name, dense_only, filtered, n, warmup)
        print(
            f"  search {sut.backend:10s} {name:17s} raw p50 {result['raw']['p50']:7.2f} ms"
            f"  api p50 {result['api']['p50']:7.2f} ms  x{result['ratio_p50']:.2f}",
            flush=True,
        )
        results.append(result)
    return results
