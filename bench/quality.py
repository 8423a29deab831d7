"""Part `quality`: retrieval quality (nDCG@10, recall@50) of each search mode on labelled data.

For each BEIR-format set in ../shared/datasets/ (`corpus.jsonl.gz`, `queries_test.jsonl`,
`qrels/test.tsv`; see its PROVENANCE.md), on a server with the local model (all-MiniLM-L6-v2):
- every document is uploaded as one file ("title\\n\\ntext", attribute `doc_id`) and attached with
  the default chunking, per backend;
- every test query is searched in each mode (`hybrid`, `vector`, `keyword`), k = 50; a document
  ranks where its first chunk does;
- references computed in the same run on the same documents: BM25 with `bm25s` (Lucene variant,
  k1 1.2, b 0.75, English stop words, Snowball stemmer), exact dense with numpy over the vectors
  the service stored (read back from the backend; query vectors from the same model), and RRF
  (k = 60) of their top-100 lists;
- fusion depth: nDCG@10 of RRF over the two reference lists cut at each depth, and over the API's
  own vector and keyword lists (k = 50) cut at each depth up to 50.
Metrics as BEIR computes them: mean over every query with judgements; nDCG with linear gains
(the judged grade) and log2 discounts; recall counts grades > 0.
Targets: hybrid >= reference RRF - 0.01 and above both of its own legs; keyword >= bm25s - 0.02;
vector >= exact dense - 0.01.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import numpy as np
from tests.support.paths import REPO

DATASETS = REPO.parent / "shared" / "datasets"
MODES = ("hybrid", "vector", "keyword")
RRF_K = 60
DEPTHS = (10, 20, 50, 100, 200)
K = 50


def load_dataset(folder: Path) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]:
    docs = {}
    with gzip.open(folder / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            docs[d["_id"]] = f"{d.get('title', '')}\n\n{d['text']}".strip()
    queries = {}
    for line in (folder / "queries_test.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        queries[q["_id"]] = q["text"]
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        qid, did, grade = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(grade)
    return docs, {q: t for q, t in queries.items() if q in qrels}, qrels


def ndcg_at(ranking: list[str], judged: dict[str, int], k: int = 10) -> float:
    dcg = sum(judged.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted(judged.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranking: list[str], judged: dict[str, int], k: int = 50) -> float:
    relevant = {d for d, g in judged.items() if g > 0}
    return len(relevant & set(ranking[:k])) / len(relevant) if relevant else 0.0


def evaluate(rankings: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict:
    n = len(qrels)
    return {
        "ndcg@10": sum(ndcg_at(rankings.get(q, []), j) for q, j in qrels.items()) / n,
        "recall@50": sum(recall_at(rankings.get(q, []), j) for q, j in qrels.items()) / n,
    }


def rrf(lists: list[list[str]], depth: int) -> list[str]:
    totals: dict[str, float] = {}
    for ranked in lists:
        for rank, doc in enumerate(ranked[:depth], start=1):
            totals[doc] = totals.get(doc, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(totals, key=lambda d: -totals[d])


def bm25s_rankings(docs: dict[str, str], queries: dict[str, str], depth: int = 200) -> dict[str, list[str]]:
    import bm25s
    import Stemmer

    ids = list(docs)
    stemmer = Stemmer.Stemmer("english")
    model = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    model.index(bm25s.tokenize([docs[d] for d in ids], stopwords="en", stemmer=stemmer, show_progress=False),
                show_progress=False)
    qids = list(queries)
    tokens = bm25s.tokenize([queries[q] for q in qids], stopwords="en", stemmer=stemmer, show_progress=False)
    found, _ = model.retrieve(tokens, k=min(depth, len(ids)), show_progress=False, n_threads=1)
    return {q: [ids[int(i)] for i in found[row]] for row, q in enumerate(qids)}


def dense_rankings(chunk_docs: list[str], vectors: np.ndarray, query_vectors: np.ndarray, qids: list[str],
                   depth: int = 200) -> dict[str, list[str]]:
    """Exact cosine over the stored chunk vectors; a document scores as its best chunk."""
    doc_ids = sorted(set(chunk_docs))
    column = {d: i for i, d in enumerate(doc_ids)}
    owner = np.array([column[d] for d in chunk_docs])
    out = {}
    for row, q in enumerate(qids):
        sims = vectors @ query_vectors[row]
        best = np.full(len(doc_ids), -np.inf, dtype=np.float32)
        np.maximum.at(best, owner, sims)
        top = np.argsort(-best, kind="stable")[:depth]
        out[q] = [doc_ids[int(i)] for i in top]
    return out


def api_rankings(client, store_id: str, queries: dict[str, str], mode: str, doc_of: dict[str, str]) -> tuple[dict, list]:
    rankings, took = {}, []
    for qid, text in queries.items():
        started = time.perf_counter()
        hits = client.search(store_id, {"query": text, "max_num_results": K, "search_mode": mode})
        took.append((time.perf_counter() - started) * 1000)
        rankings[qid] = list(dict.fromkeys(doc_of[h["file_id"]] for h in hits))
    return rankings, took


def run(args, results: dict, tmp: Path, backends: list[str], opensearch) -> None:
    from tests.support.servers import ApiServer

    from vector_store_api.embeddings.local import LocalEmbedder
    from vector_store_api.settings import Settings

    from .client import ApiClient
    from .raw import OpenSearchRaw, PgVectorRaw

    notes = results["meta"]["notes"]
    model_dir = os.environ.get("LOCAL_EMBEDDING_MODEL_DIR")
    if not model_dir or not (Path(model_dir) / "model.onnx").is_file():
        notes.append("quality part skipped: LOCAL_EMBEDDING_MODEL_DIR has no model.onnx")
        return
    sets = sorted(p for p in DATASETS.glob("*") if (p / "corpus.jsonl.gz").is_file()) if DATASETS.is_dir() else []
    if not sets:
        notes.append(f"quality part skipped: no BEIR-format data set under {DATASETS}")
        print(f"quality: skipped (no data set under {DATASETS})", flush=True)
        return
    settings = Settings()
    embedder = LocalEmbedder(Path(model_dir), batch_size=settings.embedding_batch_size)
    out: list[dict] = []
    results["quality"] = out
    env = {"EMBEDDING_PROVIDER": "local", "LOCAL_EMBEDDING_MODEL_DIR": model_dir}
    prefix = f"bench-quality-{uuid.uuid4().hex[:8]}"
    if "opensearch" in backends:
        env.update(OPENSEARCH_URL=opensearch.url(), OPENSEARCH_INDEX_PREFIX=prefix)
    with ExitStack() as stack:
        server = ApiServer(tmp / "server-quality", **env)
        stack.callback(server.stop)
        server.start()
        client = stack.enter_context(ApiClient(server.base_url, timeout=600))
        for folder in sets:
            docs, queries, qrels = load_dataset(folder)
            if args.quality_queries:
                queries = dict(list(queries.items())[: args.quality_queries])
                qrels = {q: qrels[q] for q in queries}
            qids = list(queries)
            print(f"quality: {folder.name}: {len(docs)} documents, {len(queries)} queries", flush=True)
            started = time.perf_counter()
            reference_bm25 = bm25s_rankings(docs, queries)
            bm25s_seconds = time.perf_counter() - started
            query_vectors = np.stack([embedder.embed([queries[q]])[0] for q in qids])  # one per call, as the service
            row: dict = {"dataset": folder.name, "documents": len(docs), "queries": len(queries), "backends": {}}
            row["references"] = {"bm25s": evaluate(reference_bm25, qrels), "bm25s_seconds": round(bm25s_seconds, 2)}
            for backend in backends:
                store_id = client.create_store(f"quality-{folder.name}-{backend}", backend)
                started = time.perf_counter()
                file_ids = {client.upload(f"{did}.txt", text): did for did, text in docs.items()}
                entries = [{"file_id": fid, "attributes": {"doc_id": did}} for fid, did in file_ids.items()]
                batches = [client.create_batch(store_id, entries[i : i + 2000]) for i in range(0, len(entries), 2000)]
                done = [client.wait_batch(store_id, b, interval=0.5) for b in batches]
                failed = sum(b["file_counts"]["failed"] for b in done)
                if failed:
                    raise RuntimeError(f"quality {backend}: {failed} files failed")
                ingest_seconds = time.perf_counter() - started
                if backend == "pgvector":
                    raw = PgVectorRaw(server.database_url, store_id, settings.hnsw_ef_search)
                else:
                    index = f"{prefix.lower()}-{settings.opensearch_engine}-{query_vectors.shape[1]}"
                    raw = OpenSearchRaw(opensearch.url(), index, store_id, settings.hnsw_ef_search)
                stored = raw.stored()
                raw.close()
                vectors = np.stack([r[3] for r in stored]).astype(np.float32)
                vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
                reference_dense = dense_rankings([file_ids[r[0]] for r in stored], vectors, query_vectors, qids)
                refs = {"dense_exact": evaluate(reference_dense, qrels),
                        "rrf_bm25s_dense": evaluate({q: rrf([reference_bm25[q], reference_dense[q]], 100) for q in qids},
                                                    qrels)}
                modes, took, lists = {}, {}, {}
                for mode in MODES:
                    lists[mode], times = api_rankings(client, store_id, queries, mode, file_ids)
                    modes[mode] = evaluate(lists[mode], qrels)
                    took[mode] = round(float(np.percentile(times, 50)), 2)
                depth = {
                    "references": {d: evaluate({q: rrf([reference_bm25[q], reference_dense[q]], d) for q in qids},
                                               qrels)["ndcg@10"] for d in DEPTHS},
                    "api_lists": {d: evaluate({q: rrf([lists["vector"][q], lists["keyword"][q]], d) for q in qids},
                                              qrels)["ndcg@10"] for d in DEPTHS if d <= K},
                }
                row["backends"][backend] = {"chunks": len(stored), "ingest_seconds": round(ingest_seconds, 1),
                                            "modes": modes, "references": refs, "search_p50_ms": took,
                                            "fusion_depth_ndcg@10": depth}
                print(f"quality: {folder.name} {backend}: "
                      + ", ".join(f"{m} {modes[m]['ndcg@10']:.4f}" for m in MODES)
                      + f"; bm25s {row['references']['bm25s']['ndcg@10']:.4f}, dense {refs['dense_exact']['ndcg@10']:.4f},"
                      f" rrf {refs['rrf_bm25s_dense']['ndcg@10']:.4f} (ingest {ingest_seconds:.0f} s)", flush=True)
            # urllib3 logs this each time it drops a connection the OpenSearch client's pool had no room for.
            row["pool_full_warnings"] = server.log_path.read_text(errors="replace").count("Connection pool is full")
            print(f"quality: 'Connection pool is full' warnings in the server log: {row['pool_full_warnings']}",
                  flush=True)
            out.append(row)


def targets(rows: list[dict]) -> list[dict]:
    out = []
    for row in rows:
        bm25 = row["references"]["bm25s"]["ndcg@10"]
        for backend, r in row["backends"].items():
            m, refs = r["modes"], r["references"]
            hybrid, vector, keyword = (m[x]["ndcg@10"] for x in MODES)
            rrf_ref, dense = refs["rrf_bm25s_dense"]["ndcg@10"], refs["dense_exact"]["ndcg@10"]
            where = f"{row['dataset']} {backend}"
            out += [
                {"target": f"nDCG@10 {where} hybrid (>= reference RRF - 0.01 = {rrf_ref - 0.01:.4f}, > both legs)",
                 "figure": f"{hybrid:.4f}", "met": hybrid >= rrf_ref - 0.01 and hybrid > max(vector, keyword)},
                {"target": f"nDCG@10 {where} keyword (>= bm25s - 0.02 = {bm25 - 0.02:.4f})",
                 "figure": f"{keyword:.4f}", "met": keyword >= bm25 - 0.02},
                {"target": f"nDCG@10 {where} vector (>= exact dense - 0.01 = {dense - 0.01:.4f})",
                 "figure": f"{vector:.4f}", "met": vector >= dense - 0.01},
            ]
    return out


def lines(rows: list[dict]) -> list[str]:
    out = ["| data set | backend | mode | nDCG@10 | recall@50 | API p50 ms |", "|---|---|---|---|---|---|"]
    for row in rows:
        ref = row["references"]["bm25s"]
        for backend, r in row["backends"].items():
            for mode in MODES:
                m = r["modes"][mode]
                out.append(f"| {row['dataset']} | {backend} | {mode} | {m['ndcg@10']:.4f} | {m['recall@50']:.4f}"
                           f" | {r['search_p50_ms'][mode]} |")
            for name, figures in (("exact dense (numpy)", r["references"]["dense_exact"]),
                                  ("RRF bm25s + exact dense", r["references"]["rrf_bm25s_dense"])):
                out.append(f"| {row['dataset']} | {backend} | reference: {name} | {figures['ndcg@10']:.4f}"
                           f" | {figures['recall@50']:.4f} | |")
        out.append(f"| {row['dataset']} | - | reference: bm25s | {ref['ndcg@10']:.4f} | {ref['recall@50']:.4f} | |")
    out += ["", "OpenSearch client: 'Connection pool is full' warnings in the server log over the ingest and"
            " searches: " + ", ".join(f"{row['dataset']} {row.get('pool_full_warnings', '-')}" for row in rows) + "."]
    out += ["", "Fusion depth (nDCG@10 of RRF over two lists cut at each depth):", "",
            "| data set | backend | lists | " + " | ".join(str(d) for d in DEPTHS) + " |",
            "|---|---|---|" + "---|" * len(DEPTHS)]
    for row in rows:
        for backend, r in row["backends"].items():
            for name, figures in r["fusion_depth_ndcg@10"].items():
                cells = [f"{figures[d]:.4f}" if d in figures else "-" for d in DEPTHS]
                out.append(f"| {row['dataset']} | {backend} | {name} | " + " | ".join(cells) + " |")
    return out
