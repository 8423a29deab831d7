"""Part 2, recall@10 of the indexed search vs exact search (numpy brute force, same vectors).

Ground truth: cosine similarity of the query vector with every chunk vector of the corpus (the
vectors the service indexed: same chunker, same hash embedder; the chunk count is checked against
the backend), restricted to the filter's chunks when filtered; the top 10. A returned chunk counts
as a hit when its true similarity reaches the 10th best (ties count), so recall is exact even
where texts repeat.

Measured per backend, unfiltered and with the 1 % filter:
- `api`: the service (`POST .../search`, dense only, k = 10) at its settings, whatever path it
  takes (exact scan up to EXACT_SEARCH_MAX_CHUNKS matching chunks, HNSW above, exact fallback);
- `index`: the raw HNSW / k-NN query alone (ef_search as configured; pgvector iterative scans,
  OpenSearch efficient filtering), i.e. what the index gives where the service would use it;
- exact-scan times, the physical floor: numpy over the in-memory matrix, and the backend's own
  exact scan (pgvector `ORDER BY embedding <=> q` without the index, OpenSearch `knn_score` script);
- an ef_search sweep of the index alone (recall and raw p50 latency per value), and the data's
  contrast (mean similarity of the 1st, 10th and 100th nearest chunk): the closer they are, the
  harder the data is for any graph index.
"""

from __future__ import annotations

import time

import numpy as np

from .context import StoreUnderTest
from .data import attribute_filter
from .stats import percentiles

K = 10
TARGET = 0.95
TIE_EPSILON = 1e-5


class Truth:
    def __init__(self, sut: StoreUnderTest):
        corpus = sut.corpus
        self.vectors = corpus.vectors
        self.by_key: dict[tuple[str, str], list[int]] = {}
        for i, text in enumerate(corpus.chunk_texts):
            self.by_key.setdefault((sut.file_ids[int(corpus.chunk_doc[i])], text), []).append(i)

    def similarity(self, key: tuple[str, str], query: np.ndarray) -> float:
        rows = self.by_key.get(key)
        if not rows:
            return float("-inf")  # not a chunk of the corpus: never a hit
        return float(np.max(self.vectors[rows] @ query))

    def recall(self, keys: list[tuple[str, str]], query: np.ndarray, kth: float) -> float:
        hits = sum(1 for key in dict.fromkeys(keys) if self.similarity(key, query) >= kth - TIE_EPSILON)
        return min(hits, K) / K


def brute_force(vectors: np.ndarray, query: np.ndarray, mask: np.ndarray | None) -> tuple[float, np.ndarray]:
    """(similarity of the k-th best, indices of the top k) by a full scan."""
    sims = vectors @ query
    if mask is not None:
        sims = np.where(mask, sims, -np.inf)
    top = np.argpartition(-sims, K)[:K]
    top = top[np.argsort(-sims[top])]
    return float(sims[top[-1]]), top


def contrast(sut: StoreUnderTest, n: int) -> dict:
    """Mean similarity of the 1st, 10th and 100th nearest chunk, and the median chunk."""
    ranks = []
    for query in sut.query_vectors[:n]:
        sims = np.sort(sut.corpus.vectors @ query)[::-1]
        ranks.append((sims[0], sims[9], sims[99], sims[len(sims) // 2]))
    top1, top10, top100, median = np.mean(ranks, axis=0)
    return {"top1": float(top1), "top10": float(top10), "top100": float(top100), "median": float(median)}


def sweep(sut: StoreUnderTest, truth: Truth, filtered: bool, n: int, efs: list[int]) -> list[dict]:
    """recall@10 and raw latency of the index alone at each ef_search."""
    mask = sut.corpus.filter_mask() if filtered else None
    kths = [brute_force(sut.corpus.vectors, q, mask)[0] for q in sut.query_vectors[:n]]
    default = sut.raw.ef_search
    out = []
    try:
        for ef in efs:
            sut.raw.set_ef(ef)
            recalls, seconds = [], []
            for i, kth in enumerate(kths):
                started = time.perf_counter()
                hits = sut.raw.dense(sut.query_vectors[i], K, filtered)
                seconds.append(time.perf_counter() - started)
                recalls.append(truth.recall([(f, t) for f, t, _ in hits], sut.query_vectors[i], kth))
            out.append({"ef_search": ef, "recall": float(np.mean(recalls)), "raw_ms": percentiles(seconds)})
    finally:
        sut.raw.set_ef(default)
    return out


def selectivity(sut: StoreUnderTest, truth: Truth, n: int, shares: tuple[int, ...] = (1, 2, 5, 10, 25, 50)) -> list[dict]:
    """pgvector, to set EXACT_SEARCH_MAX_CHUNKS: for filtered subsets of growing size (`group in`
    the first s groups: s % of the chunks), recall@10 and latency of HNSW with iterative scans
    (the index alone) against the exact scan of the subset."""
    out = []
    for share in shares:
        groups = [f"g{i:02d}" for i in range(share)]
        mask = sut.corpus.filter_mask(groups)
        recalls, hnsw_s, exact_s = [], [], []
        for query in sut.query_vectors[:n]:
            kth, _ = brute_force(sut.corpus.vectors, query, mask)
            started = time.perf_counter()
            hits = sut.raw.dense(query, K, groups)
            hnsw_s.append(time.perf_counter() - started)
            recalls.append(truth.recall([(f, t) for f, t, _ in hits], query, kth))
            started = time.perf_counter()
            sut.raw.exact(query, K, groups)
            exact_s.append(time.perf_counter() - started)
        row = {"share_percent": share, "matching_chunks": int(mask.sum()), "hnsw_recall": float(np.mean(recalls)),
               "hnsw_recall_min": float(np.min(recalls)), "hnsw_ms": percentiles(hnsw_s),
               "exact_ms": percentiles(exact_s)}
        print(f"    filter {share:2d} % ({row['matching_chunks']} chunks): HNSW recall {row['hnsw_recall']:.3f}"
              f" (min {row['hnsw_recall_min']:.2f}) {row['hnsw_ms']['p50']:.1f} ms, exact {row['exact_ms']['p50']:.1f} ms",
              flush=True)
        out.append(row)
    return out


def run_case(sut: StoreUnderTest, truth: Truth, filtered: bool, n: int) -> dict:
    mask = sut.corpus.filter_mask() if filtered else None
    filters = attribute_filter() if filtered else None
    api_recall, index_recall, numpy_s, exact_s = [], [], [], []
    for i in range(min(n, len(sut.queries))):
        query = sut.query_vectors[i]
        started = time.perf_counter()
        kth, _ = brute_force(sut.corpus.vectors, query, mask)
        numpy_s.append(time.perf_counter() - started)

        body = sut.client.search_body(sut.queries[i], k=K, mode="vector", filters=filters)
        api = sut.client.search(sut.store_id, body)
        api_recall.append(truth.recall([(h["file_id"], h["content"][0]["text"]) for h in api], query, kth))

        index_hits = sut.raw.dense(query, K, filtered)
        index_recall.append(truth.recall([(f, t) for f, t, _ in index_hits], query, kth))

        started = time.perf_counter()
        sut.raw.exact(query, K, filtered)
        exact_s.append(time.perf_counter() - started)
    result = {
        "backend": sut.backend,
        "case": "1% filter" if filtered else "unfiltered",
        "matching_chunks": sut.matching(filtered),
        "service_path": sut.service_path(filtered),
        "api_recall": float(np.mean(api_recall)),
        "api_recall_min": float(np.min(api_recall)),
        "index_recall": float(np.mean(index_recall)),
        "index_recall_min": float(np.min(index_recall)),
        "numpy_exact_ms": percentiles(numpy_s),
        "backend_exact_ms": percentiles(exact_s),
        "queries": len(api_recall),
    }
    result["met"] = result["api_recall"] >= TARGET
    return result


def run(sut: StoreUnderTest, n: int, efs: list[int]) -> list[dict]:
    truth = Truth(sut)
    results = []
    for filtered in (False, True):
        r = run_case(sut, truth, filtered, n)
        r["ef_sweep"] = sweep(sut, truth, filtered, n, efs) if efs else []
        if not filtered:
            r["contrast"] = contrast(sut, n)
        print(
            f"  recall {sut.backend:10s} {r['case']:10s} api {r['api_recall']:.3f} ({r['service_path']})"
            f"  index {r['index_recall']:.3f}  exact scan: numpy {r['numpy_exact_ms']['p50']:.2f} ms,"
            f" backend {r['backend_exact_ms']['p50']:.1f} ms",
            flush=True,
        )
        if r["ef_sweep"]:
            print("    index recall by ef_search: " + ", ".join(
                f"{s['ef_search']}: {s['recall']:.3f} ({s['raw_ms']['p50']:.1f} ms)" for s in r["ef_sweep"]), flush=True)
        results.append(r)
    if sut.backend == "pgvector" and sut.raw.iterative_scans:
        results[-1]["selectivity"] = selectivity(sut, truth, n)
    return results
