"""`python -m bench` (`make bench`): every part of the benchmark in one run; see bench/README.md.

Order: generate the corpus; start OpenSearch (if used) and the API server (hash embedder); per
backend ingest the corpus through the API, then the raw bulk load, search overhead, recall and
concurrency; stop the server; recall on real embeddings (local ONNX model) on a second server; stop
OpenSearch; the local ONNX embedder ingest part on a third server; cold start last, on an otherwise
quiet machine. Every process started is stopped at the end, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from tests.support.paths import REPO, offline_assets_env

PARTS = ("ingest", "search", "recall", "concurrency", "recall_local", "quality", "onnx", "cold_start")
SERVER_PARTS = {"ingest", "search", "recall", "concurrency"}
DEFAULT_OUTPUT = REPO / "bench" / "results" / "latest.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--chunks", "--size", type=int, default=24_000,
                   help="chunks per store (default %(default)s: above EXACT_SEARCH_MAX_CHUNKS, so HNSW is used)")
    p.add_argument("--chunks-per-file", type=int, default=120,
                   help="chunks per generated file (default %(default)s; keep files a multiple of 100 for 1%%)")
    p.add_argument("--backends", default=None,
                   help="comma-separated: pgvector,opensearch (default: both, opensearch when it can start)")
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    p.add_argument("--queries", type=int, default=200, help="measured queries per search case (default %(default)s)")
    p.add_argument("--warmup", type=int, default=20, help="warm-up queries per search case (default %(default)s)")
    p.add_argument("--recall-queries", type=int, default=100, help="queries per recall case (default %(default)s)")
    p.add_argument("--ef-sweep", default="40,100,200,400",
                   help="ef_search values for the index-alone recall sweep (default %(default)s; '' = none)")
    p.add_argument("--concurrency", default="1,4,16", help="client counts (default %(default)s)")
    p.add_argument("--concurrency-seconds", type=float, default=6.0, help="seconds per level (default %(default)s)")
    p.add_argument("--onnx-chunks", type=int, default=200, help="chunks for the ONNX part (default %(default)s)")
    p.add_argument("--recall-local-chunks", type=int, default=4000,
                   help="chunks for the recall_local part (real embeddings; default %(default)s)")
    p.add_argument("--quality-queries", type=int, default=0,
                   help="test queries per data set in the quality part (default: all)")
    p.add_argument("--cold-start-runs", type=int, default=9, help="interpreters per handler (default %(default)s)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results (a .md copy next to it)")
    args = p.parse_args(argv)
    args.parts = [x for x in args.parts.split(",") if x]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        p.error(f"unknown parts: {', '.join(sorted(unknown))}")
    args.concurrency = [int(x) for x in args.concurrency.split(",") if x]
    args.ef_sweep = [int(x) for x in args.ef_sweep.split(",") if x]
    return args


def _sigterm(*_: object) -> None:
    raise KeyboardInterrupt  # unwinds the ExitStacks: every started process is stopped


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def git_state() -> dict:
    """The commit measured, and whether the working tree had uncommitted changes (read-only git calls)."""
    import subprocess

    def git(*cmd: str) -> str:
        try:
            return subprocess.run(["git", *cmd], cwd=REPO, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    changed = [line for line in git("status", "--porcelain").splitlines() if not line[3:].startswith("bench/")]
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_changes_outside_bench": len(changed)}


def resolve_backends(args: argparse.Namespace, notes: list[str]) -> list[str]:
    from tests.support.opensearch import opensearch_unavailable

    if args.backends:
        backends = [b for b in args.backends.split(",") if b]
        bad = set(backends) - {"pgvector", "opensearch"}
        if bad:
            raise SystemExit(f"unknown backends: {', '.join(sorted(bad))}")
        if "opensearch" in backends and not os.environ.get("OPENSEARCH_URL"):
            reason = opensearch_unavailable()
            if reason:
                raise SystemExit(f"--backends opensearch: cannot start OpenSearch ({reason})")
        return backends
    if os.environ.get("OPENSEARCH_URL") or opensearch_unavailable() is None:
        return ["pgvector", "opensearch"]
    notes.append(f"OpenSearch skipped: {opensearch_unavailable()}")
    return ["pgvector"]


def run_server_parts(args: argparse.Namespace, results: dict, tmp: Path, backends: list[str], opensearch) -> None:
    """Parts 1, 2, 3 (hash), 5 for every backend, on one API server; `opensearch`: the run's
    servers.LazyOpenSearch (stopped by the caller)."""
    from tests.support.servers import ApiServer

    from vector_store_api.settings import Settings

    from . import concurrency, recall, search
    from .client import ApiClient
    from .context import StoreUnderTest
    from .data import build_corpus, build_queries, embed_queries
    from .ingest import add_raw_load, ingest_via_api
    from .raw import OpenSearchRaw, PgVectorRaw

    meta = results["meta"]
    settings = Settings()

    started = time.perf_counter()
    corpus = build_corpus(args.chunks, args.chunks_per_file, args.seed)
    queries = build_queries(corpus, max(args.queries + args.warmup, args.recall_queries), args.seed + 1)
    query_vectors = embed_queries(queries)
    meta.update(chunks=corpus.size, files=len(corpus.documents), filter_chunks=int(corpus.filter_mask().sum()))
    print(f"corpus: {corpus.size} chunks in {len(corpus.documents)} files ({time.perf_counter() - started:.1f} s)",
          flush=True)

    with ExitStack() as stack:
        env = {"EMBEDDING_PROVIDER": "hash"}
        opensearch_url = None
        if "opensearch" in backends:
            opensearch_url = opensearch.url()
            prefix = f"bench-{uuid.uuid4().hex[:8]}"
            env.update(OPENSEARCH_URL=opensearch_url, OPENSEARCH_INDEX_PREFIX=prefix)
        server = ApiServer(tmp / "server-hash", **env)
        stack.callback(server.stop)
        server.start()
        client = stack.enter_context(ApiClient(server.base_url))
        print(f"API server at {server.base_url} (pid {server.pid}, data {server.data_dir})", flush=True)

        for backend in backends:
            store_id, file_ids, ingest_result = ingest_via_api(client, corpus, backend)
            if backend == "pgvector":
                raw = PgVectorRaw(server.database_url, store_id, settings.hnsw_ef_search)
                meta["pgvector_version"] = raw.pgvector_version
            else:
                index = f"{prefix.lower()}-{settings.opensearch_engine}-384"
                raw = OpenSearchRaw(opensearch_url, index, store_id, settings.hnsw_ef_search)
                meta["opensearch_version"] = raw.client.info()["version"]["number"]
                meta["opensearch_engine"] = settings.opensearch_engine
            stack.callback(raw.close)
            indexed = raw.count()
            if indexed != corpus.size:
                raise RuntimeError(f"{backend}: the service indexed {indexed} chunks, the bench expects {corpus.size}")
            raw.settle()
            results.setdefault("storage", {})[backend] = raw.storage()
            if "ingest" in args.parts:
                results["ingest"].append(add_raw_load(ingest_result, raw, corpus, file_ids, settings.ingest_workers))
            raw.settle()
            sut = StoreUnderTest(backend, client, store_id, file_ids, corpus, raw, settings.exact_search_max_chunks,
                                 queries, query_vectors)
            if "search" in args.parts:
                results["search"] += search.run(sut, args.queries, args.warmup)
            if "recall" in args.parts:
                results["recall"] += recall.run(sut, args.recall_queries, args.ef_sweep)
            if "concurrency" in args.parts:
                results["concurrency"] += concurrency.run(sut, args.concurrency, args.concurrency_seconds)
        print("stopping the API server", flush=True)


def run_onnx(args: argparse.Namespace, results: dict, tmp: Path) -> None:
    from tests.support.servers import ApiServer

    from vector_store_api.settings import Settings

    from .data import build_corpus
    from .ingest import onnx_pipeline

    model_dir = os.environ.get("LOCAL_EMBEDDING_MODEL_DIR")
    if not model_dir or not (Path(model_dir) / "model.onnx").is_file():
        results["meta"]["notes"].append("ONNX part skipped: LOCAL_EMBEDDING_MODEL_DIR has no model.onnx")
        return
    corpus = build_corpus(args.onnx_chunks, 25, args.seed + 2, prefix="onnx")
    with ApiServer(tmp / "server-onnx", EMBEDDING_PROVIDER="local", VECTOR_BACKEND="pgvector") as server:
        server.start()
        results["onnx"] = onnx_pipeline(server.base_url, corpus, Path(model_dir), Settings().embedding_batch_size)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    offline_assets_env()
    signal.signal(signal.SIGTERM, _sigterm)
    from vector_store_api.settings import Settings

    from . import cold_start, data, quality, recall_local, report
    from .servers import LazyOpenSearch

    settings = Settings()
    results: dict = {
        "meta": {
            **machine(),
            **git_state(),
            "argv": sys.argv[1:] if argv is None else argv,
            "seed": args.seed,
            "dimension": data.DIMENSION,
            "chunk_tokens": data.CHUNK_TOKENS,
            "chunk_overlap": data.CHUNK_OVERLAP,
            "groups": data.GROUPS,
            "chunks": 0,
            "files": 0,
            "filter_chunks": 0,
            "hnsw_m": settings.hnsw_m,
            "hnsw_ef_construction": settings.hnsw_ef_construction,
            "hnsw_ef_search": settings.hnsw_ef_search,
            "exact_search_max_chunks": settings.exact_search_max_chunks,
            "ingest_workers": settings.ingest_workers,
            "notes": [],
        },
        "search": [],
        "recall": [],
        "ingest": [],
        "concurrency": [],
        "recall_local": None,
        "quality": [],
        "onnx": None,
        "cold_start": None,
    }
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="vsa-bench-"))
    opensearch = LazyOpenSearch()
    try:
        backends: list[str] = []
        if (SERVER_PARTS | {"recall_local", "quality"}) & set(args.parts):
            backends = resolve_backends(args, results["meta"]["notes"])
            results["meta"]["backends"] = backends
        if SERVER_PARTS & set(args.parts):
            run_server_parts(args, results, tmp, backends, opensearch)
        if "recall_local" in args.parts:
            print("recall on real embeddings (local ONNX model) ...", flush=True)
            recall_local.run(args, results, tmp, backends, opensearch)
        if "quality" in args.parts:
            print("retrieval quality on labelled data (local ONNX model) ...", flush=True)
            quality.run(args, results, tmp, backends, opensearch)
        if opensearch.started:
            print("stopping OpenSearch", flush=True)
            opensearch.stop()
        if "onnx" in args.parts:
            print("ONNX ingest part ...", flush=True)
            run_onnx(args, results, tmp)
        if "cold_start" in args.parts:
            print("cold start ...", flush=True)
            results["cold_start"] = cold_start.run(args.cold_start_runs)
    except KeyboardInterrupt:
        print("interrupted: every started process was stopped", file=sys.stderr)
        return 130
    finally:
        opensearch.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    results["meta"]["duration_s"] = round(time.perf_counter() - started, 1)
    md_path = report.write(results, args.output)
    print()
    print(md_path.read_text())
    print(f"results: {args.output} and {md_path} ({results['meta']['duration_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
