"""Part 5, concurrency: search throughput with 1, 4, 16 concurrent clients against the local server.

Each client is a thread with its own keep-alive httpx connection, sending the default search
request (hybrid, k = 10, no filter) for the store's queries in turn, back to back, for a fixed
time. Reported per level: completed requests per second, latency p50/p95, errors (transport
errors and non-200 answers) and the machine's busy cores meanwhile (all processes: server,
database, this client, and whatever else shares the machine).
"""

from __future__ import annotations

import threading
import time

import httpx

from .context import StoreUnderTest
from .stats import CpuSampler, percentiles


def _client_loop(sut: StoreUnderTest, offset: int, stop_at: float, latencies: list, errors: list) -> None:
    headers = {"Authorization": f"Bearer {sut.client.api_key}"}
    bodies = [sut.client.search_body(q) for q in sut.queries]
    url = f"/v1/vector_stores/{sut.store_id}/search"
    i = offset
    with httpx.Client(base_url=str(sut.client.http.base_url), headers=headers, timeout=60) as http:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                response = http.post(url, json=bodies[i % len(bodies)])
                response.json()
                ok = response.status_code == 200
            except (httpx.HTTPError, ValueError):
                ok = False
            elapsed = time.perf_counter() - started
            (latencies if ok else errors).append(elapsed)
            i += 1


def run_level(sut: StoreUnderTest, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[float] = []
    cpu = CpuSampler()
    started = time.perf_counter()
    stop_at = started + seconds
    threads = [
        threading.Thread(target=_client_loop, args=(sut, c * 7, stop_at, latencies, errors)) for c in range(clients)
    ]
    cpu.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    busy = cpu.stop()
    return {
        "backend": sut.backend,
        "clients": clients,
        "seconds": elapsed,
        "requests": len(latencies),
        "errors": len(errors),
        "throughput_rps": len(latencies) / elapsed,
        "latency_ms": percentiles(latencies),
        "busy_cores": busy,
    }


def run(sut: StoreUnderTest, levels: list[int], seconds: float) -> list[dict]:
    results = []
    for clients in levels:
        r = run_level(sut, clients, seconds)
        busy = f"{r['busy_cores']:.1f}" if r["busy_cores"] is not None else "?"
        print(
            f"  concurrency {sut.backend:10s} {clients:2d} clients: {r['throughput_rps']:6.1f} req/s"
            f"  p50 {r['latency_ms']['p50']:.1f} ms  errors {r['errors']}  busy cores {busy}",
            flush=True,
        )
        results.append(r)
    return results
