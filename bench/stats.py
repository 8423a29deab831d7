"""Small measurement helpers: latency percentiles and machine CPU utilisation."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def percentiles(samples_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean of latencies given in seconds, returned in milliseconds."""
    ms = np.asarray(samples_s, dtype=np.float64) * 1000
    if ms.size == 0:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "mean": float("nan")}
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"n": int(ms.size), "p50": float(p50), "p95": float(p95), "p99": float(p99), "mean": float(ms.mean())}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


class CpuSampler:
    """Whole-machine CPU utilisation between start() and stop(), from /proc/stat (Linux only).

    Returned as busy cores (0..nproc); the machine is shared, so this includes other load."""

    def __init__(self) -> None:
        self._start: tuple[int, int] | None = None

    @staticmethod
    def _read() -> tuple[int, int] | None:
        try:
            with open("/proc/stat") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
        except OSError:
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> float | None:
        end = self._read()
        if self._start is None or end is None:
            return None
        total, idle = end[0] - self._start[0], end[1] - self._start[1]
        return (1 - idle / total) * (os.cpu_count() or 1) if total else None
