"""Part 4, cold start: import + app construction time of each Lambda handler module in a fresh interpreter.

    python bench/cold_start.py [--runs 7]      (also part of `python -m bench`)

Compared with a bare FastAPI + Mangum app (the floor any handler of this shape pays). Services
(database pool, boto3 clients) are built on the first request, so they are not part of this figure.
Each figure is the median of `runs` fresh interpreters. Target: every handler <= 1.25x the bare app.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
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
TARGET_RATIO = 1.25


def measure(body: str, cwd: Path, runs: int) -> float:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", TIMER.format(body=body)],
            cwd=cwd, env={**os.environ, **ENV}, capture_output=True, text=True, check=True,
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples) * 1000


def run(runs: int = 7) -> dict:
    """{"bare_ms", "handlers": [{"handler", "ms", "ratio", "met"}], "runs"}"""
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as bare_dir:
        (Path(bare_dir) / "bare_app.py").write_text(BARE)
        floor = measure("import bare_app", Path(bare_dir), runs)
    handlers = []
    for name in FUNCTIONS:
        ms = measure("import app", REPO / "functions" / name, runs)
        handlers.append({"handler": name, "ms": ms, "ratio": ms / floor, "met": ms / floor <= TARGET_RATIO})
    return {"runs": runs, "bare_ms": floor, "handlers": handlers}


def table(result: dict) -> list[str]:
    lines = [
        f"| handler | import + app (ms, median of {result['runs']}) | vs bare FastAPI+Mangum |",
        "|---|---|---|",
        f"| bare FastAPI + Mangum | {result['bare_ms']:.0f} | 1.00x |",
    ]
    lines += [f"| {h['handler']} | {h['ms']:.0f} | {h['ratio']:.2f}x |" for h in result["handlers"]]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print("\n".join(table(run(args.runs))))


if __name__ == "__main__":
    main()
