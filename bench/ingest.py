"""Part 3, ingest throughput.

Hash embedder (per backend): chunks/s for attaching the corpus through the API, from the first
upload (`POST /v1/files`, one per document) through one `file_batches` request (per-file
attributes, static chunking) until the batch reads `completed` (polled every 50 ms): parse, chunk,
embed, index, settle. Against a raw bulk load of the same rows and vectors with as many parallel
writers as the service's INGEST_WORKERS (raw.py: binary COPY into a scratch copy of `chunks` with
the same indexes for pgvector; `helpers.parallel_bulk` + refresh into a scratch index with the
same mapping for OpenSearch). Target: API >= 0.5x raw.

Local ONNX embedder: a second server with EMBEDDING_PROVIDER=local. The pipeline time (batch
created -> completed, after a warm-up file loaded the model; uploads not included) vs the
embedder's own time on the same chunks, in this process, with the same calls the pipeline makes
(one `LocalEmbedder.embed` per document, same batch size). Target: pipeline <= 1.1x embedder.
"""

from __future__ import annotations

import time
from pathlib import Path

from .client import ApiClient
from .data import Corpus
from .stats import ratio

TARGET_RAW_RATIO = 0.5
TARGET_ONNX_RATIO = 1.1


def ingest_via_api(client: ApiClient, corpus: Corpus, backend: str) -> tuple[str, list[str], dict]:
    """Create a store on `backend` and attach the whole corpus; returns (store id, file ids, timings)."""
    store_id = client.create_store(f"bench-{backend}", backend)
    started = time.perf_counter()
    file_ids = client.upload_corpus(corpus)
    uploaded = time.perf_counter()
    client.attach(store_id, corpus, file_ids)
    done = time.perf_counter()
    total = done - started
    result = {
        "backend": backend,
        "chunks": corpus.size,
        "files": len(file_ids),
        "upload_s": uploaded - started,
        "attach_s": done - uploaded,
        "api_s": total,
        "api_chunks_per_s": corpus.size / total,
    }
    print(
        f"  ingest {backend:10s} API: {corpus.size} chunks in {total:.1f} s"
        f" (uploads {result['upload_s']:.1f} s) = {result['api_chunks_per_s']:.0f} chunks/s",
        flush=True,
    )
    return store_id, file_ids, result


def add_raw_load(result: dict, raw, corpus: Corpus, file_ids: list[str], writers: int) -> dict:
    seconds = raw.bulk_load(corpus, file_ids, writers)
    result["raw_writers"] = writers
    result["raw_s"] = seconds
    result["raw_chunks_per_s"] = corpus.size / seconds
    result["ratio"] = ratio(result["api_chunks_per_s"], result["raw_chunks_per_s"])
    result["met"] = result["ratio"] >= TARGET_RAW_RATIO
    print(
        f"  ingest {result['backend']:10s} raw: {seconds:.1f} s = {result['raw_chunks_per_s']:.0f} chunks/s"
        f"  -> API/raw {result['ratio']:.2f}",
        flush=True,
    )
    return result


def onnx_pipeline(base_url: str, corpus: Corpus, model_dir: Path, batch_size: int) -> dict:
    from vector_store_api.embeddings.local import LocalEmbedder

    embedder = LocalEmbedder(model_dir, batch_size=batch_size)
    embedder.embed(["warm up the model"])
    per_document = [[t for t, d in zip(corpus.chunk_texts, corpus.chunk_doc, strict=True) if d == i]
                    for i in range(len(corpus.documents))]
    started = time.perf_counter()
    for texts in per_document:
        embedder.embed(texts)
    embed_s = time.perf_counter() - started

    with ApiClient(base_url) as client:
        store_id = client.create_store("bench-onnx", "pgvector")
        warm = Corpus(corpus.documents[:1], corpus.chunk_doc[:0], [], [], corpus.vectors[:0])
        client.attach(store_id, warm, client.upload_corpus(warm))  # loads the model in the server
        file_ids = client.upload_corpus(corpus)
        started = time.perf_counter()
        client.attach(store_id, corpus, file_ids)
        pipeline_s = time.perf_counter() - started
    result = {
        "chunks": corpus.size,
        "files": len(corpus.documents),
        "embedder_s": embed_s,
        "pipeline_s": pipeline_s,
        "ratio": ratio(pipeline_s, embed_s),
    }
    result["met"] = result["ratio"] <= TARGET_ONNX_RATIO
    print(
        f"  onnx: embedder {embed_s:.1f} s, pipeline {pipeline_s:.1f} s for {corpus.size} chunks"
        f" -> x{result['ratio']:.2f}",
        flush=True,
    )
    return result
