"""Profile the local server with py-spy while the bench drives it: where a request's time goes.

    python -m bench.profile search [--backend pgvector|opensearch] [--chunks 24000] [--seconds 10]
    python -m bench.profile ingest [--backend ...] [--chunks 7200]

`search`: ingests the corpus, then for each search case of bench/search.py sends requests back to
back for `--seconds` while `py-spy record --idle` samples the server; `ingest`: samples the server
while it ingests the corpus. Prints, per profile, the functions with the largest share of the
samples taken inside the request handler (or ingest job), wall-clock time including waits on
the database / OpenSearch, and keeps the raw (collapsed-stack) profiles in `--out`.
Needs py-spy (`pip install py-spy`; not a project dependency).
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from tests.support.paths import offline_assets_env

RATE = 250
MARKERS = {"search": "search_vector_store", "ingest": "IngestPipeline.process"}


def py_spy() -> str:
    path = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(path).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    return path


def record(pid: int, out: Path) -> subprocess.Popen:
    cmd = [py_spy(), "record", "-p", str(pid), "--idle", "--threads", "-r", str(RATE), "-f", "raw", "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(2)  # py-spy writes the profile on SIGINT
    proc.wait(timeout=120)


def summary(path: Path, marker: str, top: int = 25) -> list[str]:
    """Inclusive share of each function among the samples whose stack contains `marker`."""
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if marker not in stack:
            continue
        n = int(count)
        total += n
        for frame in {re.sub(r":\d+\)$", ")", f) for f in stack.split(";")[1:]}:
            inclusive[frame] += n
    lines = [f"{path.name}: {total / RATE:.1f} s of samples in {marker}"]
    skip = ("threading.py", "contextlib.py", "anyio/", "fastapi/telemetry", "queue/in_process")
    shown = [(f, n) for f, n in inclusive.most_common() if not any(s in f for s in skip)]
    lines += [f"  {100 * n / max(total, 1):5.1f}%  {f}" for f, n in shown[:top]]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["search", "ingest"])
    parser.add_argument("--backend", default="pgvector", choices=["pgvector", "opensearch"])
    parser.add_argument("--chunks", type=int, default=None, help="default: 24000 (search), 7200 (ingest)")
    parser.add_argument("--seconds", type=float, default=10.0, help="load per search case (default %(default)s)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bench-profiles")
    args = parser.parse_args(argv)
    offline_assets_env()
    from tests.support.opensearch import start_opensearch
    from tests.support.servers import ApiServer

    from . import search
    from .client import ApiClient
    from .data import attribute_filter, build_corpus, build_queries

    args.out.mkdir(parents=True, exist_ok=True)
    corpus = build_corpus(args.chunks or (24_000 if args.what == "search" else 7_200), 120, args.seed)
    queries = build_queries(corpus, 400, args.seed + 1)
    reports: list[str] = []
    with ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="vsa-profile-"))
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        env = {"EMBEDDING_PROVIDER": "hash"}
        if args.backend == "opensearch":
            node = start_opensearch()
            stack.callback(node.stop)
            env.update(OPENSEARCH_URL=node.url, OPENSEARCH_INDEX_PREFIX="bench-profile")
        server = ApiServer(tmp / "server", **env)
        stack.callback(server.stop)
        server.start()
        client = stack.enter_context(ApiClient(server.base_url))
        store_id = client.create_store("profile", args.backend)
        file_ids = client.upload_corpus(corpus)
        out = args.out / f"{args.backend}-ingest.txt"
        spy = record(server.pid, out) if args.what == "ingest" else None
        started = time.perf_counter()
        client.attach(store_id, corpus, file_ids)
        print(f"ingested {corpus.size} chunks in {time.perf_counter() - started:.1f} s", flush=True)
        if spy:
            stop(spy)
            reports += summary(out, MARKERS["ingest"])
        if args.what == "search":
            for name, mode, filtered in search.CASES:
                filters = attribute_filter() if filtered else None
                bodies = [client.search_body(q, mode=mode, filters=filters) for q in queries]
                for body in bodies[:20]:
                    client.search(store_id, body)
                out = args.out / f"{args.backend}-search-{name.replace(' ', '_').replace(',', '').replace('%', '')}.txt"
                spy = record(server.pid, out)
                deadline, n = time.perf_counter() + args.seconds, 0
                while time.perf_counter() < deadline:
                    client.search(store_id, bodies[n % len(bodies)])
                    n += 1
                stop(spy)
                reports += [f"{name}: {n} requests, {1000 * args.seconds / n:.1f} ms each", *summary(out, MARKERS["search"])]
    print("\n".join(reports))
    print(f"raw profiles: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
