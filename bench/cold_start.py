"""Part 4, cold start: import + app construction time of each Lambda handler module in a fresh interpreter.

    python bench/cold_start.py [--runs 7]      (also part of `python -m bench`)

Compared with a bare FastAPI + Mangum app built the way the handlers are: one route taking a path
parameter (FastAPI imports `pydantic.v1` the first time it builds a route with a parameter, ~18 ms
here, and every route of this API has one) and the cycle collector paused during init, then
`gc.freeze()` (functions/*/app.py, `aws.runtime.end_init`): the floor any handler of this shape
pays. The bare app as usually written (route without parameters, collector running) is reported
too, as the reference earlier runs used. Services (database pool, boto3 clients) are built on the
first request, so they are not part of this figure. Each figure is the median of `runs` fresh
interpreters, the runs interleaved (one interpreter per module in turn) so that drift in the
machine's load affects every module alike. Target: every handler <= 1.25x the bare app.
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
FUNCTIONS = ["files", "vector_stores", "vector_store_files", "search", "organization", "responses", "ingest_worker", "ingest_dlq", "maintenance"]
BARE = (
    "import gc\ngc.disable()\nfrom fastapi import FastAPI\nfrom mangum import Mangum\napp = FastAPI()\n"
    "@app.get('/x/{x_id}')\ndef x(x_id: str):\n    return {}\nhandler = Mangum(app, lifespan='off')\n"
    "gc.freeze()\ngc.enable()\n"
)
BARE_PLAIN = (
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


def sample(body: str, cwd: Path) -> float:
    """Seconds to run `body` in a fresh interpreter started in `cwd`."""
    out = subprocess.run(
        [sys.executable, "-c", TIMER.format(body=body)],
        cwd=cwd, env={**os.environ, **ENV}, capture_output=True, text=True, check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def run(runs: int = 7) -> dict:
    """{"bare_ms", "bare_plain_ms", "handlers": [{"handler", "ms", "ratio", "met"}], "runs"}"""
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as bare_dir:
        (Path(bare_dir) / "bare_app.py").write_text(BARE)
        (Path(bare_dir) / "bare_plain.py").write_text(BARE_PLAIN)
        modules = {
            "bare": ("import bare_app", Path(bare_dir)),
            "bare_plain": ("import bare_plain", Path(bare_dir)),
            **{name: ("import app", REPO / "functions" / name) for name in FUNCTIONS},
        }
        samples: dict[str, list[float]] = {name: [] for name in modules}
        for _ in range(runs):
            for name, (body, cwd) in modules.items():
                samples[name].append(sample(body, cwd))
    ms = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    floor = ms["bare"]
    handlers = [
        {"handler": name, "ms": ms[name], "ratio": ms[name] / floor, "met": ms[name] / floor <= TARGET_RATIO}
        for name in FUNCTIONS
    ]
    return {"runs": runs, "bare_ms": floor, "bare_plain_ms": ms["bare_plain"], "handlers": handlers}


def table(result: dict) -> list[str]:
    floor = result["bare_ms"]
    lines = [
        f"| handler | import + app (ms, median of {result['runs']}) | vs bare FastAPI+Mangum |",
        "|---|---|---|",
        f"| bare FastAPI + Mangum (path parameter, collector paused during init, as the handlers) | {floor:.0f} | 1.00x |",
    ]
    if result.get("bare_plain_ms"):
        plain = result["bare_plain_ms"]
        lines.append(f"| bare FastAPI + Mangum as usually written (no parameter, collector on) | {plain:.0f} | {plain / floor:.2f}x |")
    lines += [f"| {h['handler']} | {h['ms']:.0f} | {h['ratio']:.2f}x |" for h in result["handlers"]]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print("\n".join(table(run(args.runs))))


if __name__ == "__main__":
    main()
