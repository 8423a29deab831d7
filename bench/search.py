"""Part 1, search overhead: the same queries, raw against the backend vs through the API.

For each case, every query is sent once raw and once to `POST /v1/vector_stores/{id}/search`
(httpx keep-alive client, JSON in and out, response parsed), alternating which goes first, after a
warm-up. Embedding is excluded: the server uses the deterministic `hash` embedder (tens of
microseconds per query) and the raw side sends the vectors that embedder produces.

Cases (k = 10 results):
- `dense`: `ranking_options.ranker = "none"` (dense only) vs the raw dense query of the plan the
  service picks for the store (HNSW above EXACT_SEARCH_MAX_CHUNKS matching chunks, else exact);
- `dense, 1% filter`: the same with the selective attribute filter;
- `keyword`: `search_mode: keyword` (BM25 alone) vs the raw BM25 query (pgvector: the service's
  own BM25 SQL on a plain connection; OpenSearch: a `match` query);
- `hybrid`: the default ranking (dense + BM25, fused) vs the raw dense query then the raw text
  query, one after the other.
The raw side asks for k rows; the service fetches 50 from each list (part of what is measured). `agreement` is the overlap of the two top-10
lists (dense cases). Target besides the ratio: hybrid API p50 <= 2x dense API p50 of the same run.
"""

from __future__ import annotations

import time

from .context import StoreUnderTest
from .data import attribute_filter
from .stats import percentiles, ratio

K = 10
TARGET_RATIO = 1.5
HYBRID_TARGET = 2.0  # hybrid API p50 <= 2x dense API p50
# name, search mode, filtered
CASES = (("dense", "vector", False), ("dense, 1% filter", "vector", True), ("keyword", "keyword", False),
         ("hybrid", "hybrid", False))


def _raw_call(sut: StoreUnderTest, i: int, mode: str, filtered: bool) -> list:
    hits = sut.raw_dense(sut.query_vectors[i], K, filtered) if mode != "keyword" else []
    if mode != "vector":
        hits = hits + sut.raw.text(sut.queries[i], K, filtered)
    return hits


def run_case(sut: StoreUnderTest, name: str, mode: str, filtered: bool, n: int, warmup: int) -> dict:
    filters = attribute_filter() if filtered else None
    bodies = [sut.client.search_body(q, k=K, mode=mode, filters=filters) for q in sut.queries]
    dense_only = mode == "vector"
    n = min(n, len(bodies))
    for i in range(min(warmup, n)):
        _raw_call(sut, i, mode, filtered)
        sut.client.search(sut.store_id, bodies[i])
    raw_s, api_s, overlap = [], [], []
    for i in range(n):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for side in order:
            started = time.perf_counter()
            if side == 0:
                raw_hits = _raw_call(sut, i, mode, filtered)
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
    for name, mode, filtered in CASES:
        result = run_case(sut, name, mode, filtered, n, warmup)
        print(
            f"  search {sut.backend:10s} {name:17s} raw p50 {result['raw']['p50']:7.2f} ms"
            f"  api p50 {result['api']['p50']:7.2f} ms  x{result['ratio_p50']:.2f}",
            flush=True,
        )
        results.append(result)
    dense, hybrid = results[0], results[-1]
    hybrid["hybrid_over_dense_api_p50"] = ratio(hybrid["api"]["p50"], dense["api"]["p50"])
    hybrid["hybrid_met"] = hybrid["hybrid_over_dense_api_p50"] <= HYBRID_TARGET
    return results
