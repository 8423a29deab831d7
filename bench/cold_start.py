"""Cold start: import + app construction time of each Lambda handler module in a fresh interpreter.

    python bench/cold_start.py [--runs 7]

Compared with a bare FastAPI + Mangum app (the floor any handler of this shape pays). Services
(database pool, boto3 clients) are built on the first request, so they are not part of this figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FUNCTIONS = ["files", "vector_stores", "vector_store_files", "search", "ingest_worker", "ingest_dlq", "maintenance"]
BARE = (
    "from fastapi import FastAPI\nfrom mangum import Mangum\napp = FastAPI()\n"
    "@app.get('/x')\ndef x():\n    return {}\nhandler = Mangum(app, lifespan='off')\n"
)
TIMER = "import time; t = time.perf_counter(); {body}; print(time.perf_counter() - t)"
ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "vector-store-api",
    "POWERTOOLS_METRICS_NAMESPACE": "VectorStoreApi",
}


def measure(body: str, cwd: Path, runs: int) -> float:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", TIMER.format(body=body)],
            cwd=cwd, env={**os.environ, **ENV}, capture_output=True, text=True, check=True,
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    bare_dir = REPO / ".bench-bare"
    bare_dir.mkdir(exist_ok=True)
    (bare_dir / "bare_app.py").write_text(BARE)
    floor = measure("import bare_app", bare_dir, args.runs)
    print(f"| handler | import + app (ms, median of {args.runs}) | vs bare FastAPI+Mangum |")
    print("|---|---|---|")
    print(f"| bare FastAPI + Mangum | {floor:.0f} | 1.00x |")
    for name in FUNCTIONS:
        ms = measure("import app", REPO / "functions" / name, args.runs)
        print(f"| {name} | {ms:.0f} | {ms / floor:.2f}x |")


if __name__ == "__main__":
    main()
