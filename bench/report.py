"""Markdown tables of a run's results, and the JSON/markdown files they are written to."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from . import cold_start, quality


def _f(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _met(flag: bool | None) -> str:
    return "-" if flag is None else ("met" if flag else "**missed**")


def meta_lines(meta: dict) -> list[str]:
    return [
        f"Machine: {meta['cpu']} ({meta['cores']} cores), {meta['memory_gb']} GB RAM, Python {meta['python']}; "
        f"{meta['started_at']}; commit {meta.get('commit', '?')}"
        f" ({meta.get('uncommitted_changes_outside_bench', 0)} uncommitted files outside bench/).",
        (f"Data: {meta['chunks']} chunks ({meta['files']} files), dimension {meta['dimension']}, "
         f"chunks of {meta['chunk_tokens']} tokens (overlap {meta['chunk_overlap']}), seed {meta['seed']}; "
         f"filter: 1 attribute value of {meta['groups']} ({meta['filter_chunks']} chunks).")
        if meta["chunks"] else f"Data: no `hash` corpus in this run (seed {meta['seed']}).",
        f"Settings: HNSW m={meta['hnsw_m']}, ef_construction={meta['hnsw_ef_construction']}, "
        f"ef_search={meta['hnsw_ef_search']}; EXACT_SEARCH_MAX_CHUNKS={meta['exact_search_max_chunks']}; "
        f"pgvector {meta.get('pgvector_version', '?')}; OpenSearch {meta.get('opensearch_version', '-')} "
        f"(engine {meta.get('opensearch_engine', '-')}); embedder `hash` (search, ingest), "
        f"client httpx keep-alive.",
    ]


def search_lines(rows: list[dict]) -> list[str]:
    lines = [
        "| backend | case | service path | raw p50 / p95 / p99 (ms) | API p50 / p95 / p99 (ms) | API/raw p50 "
        "| top-10 agreement | target <= 1.5x |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        raw, api = r["raw"], r["api"]
        lines.append(
            f"| {r['backend']} | {r['case']} | {r['service_path']} "
            f"| {_f(raw['p50'])} / {_f(raw['p95'])} / {_f(raw['p99'])} "
            f"| {_f(api['p50'])} / {_f(api['p95'])} / {_f(api['p99'])} | {_f(r['ratio_p50'])}x "
            f"| {_f(r['agreement'])} | {_met(r['met'])} |"
        )
    return lines


def recall_lines(rows: list[dict]) -> list[str]:
    lines = [
        "| backend | case | matching chunks | service path | recall@10 API (min) | recall@10 index alone (min) "
        "| exact scan p50: numpy / backend (ms) | target >= 0.95 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    sweeps = []
    for r in rows:
        if r.get("ef_sweep"):
            sweeps.append(f"| {r['backend']} | {r['case']} | " + " | ".join(
                f"{s['recall']:.3f} ({s['raw_ms']['p50']:.1f} ms)" for s in r["ef_sweep"]) + " |")
        lines.append(
            f"| {r['backend']} | {r['case']} | {r['matching_chunks']} | {r['service_path']} "
            f"| {_f(r['api_recall'], 3)} ({_f(r['api_recall_min'], 1)}) "
            f"| {_f(r['index_recall'], 3)} ({_f(r['index_recall_min'], 1)}) "
            f"| {_f(r['numpy_exact_ms']['p50'])} / {_f(r['backend_exact_ms']['p50'], 1)} | {_met(r['met'])} |"
        )
    efs = next((r["ef_sweep"] for r in rows if r.get("ef_sweep")), [])
    if efs:
        lines += ["", "Index alone, recall@10 (raw p50) by ef_search:", "",
                  "| backend | case | " + " | ".join(f"ef_search={s['ef_search']}" for s in efs) + " |",
                  "|---|---|" + "---|" * len(efs), *sweeps]
    contrast = next((r["contrast"] for r in rows if r.get("contrast")), None)
    if contrast:  # a property of the corpus and queries: the same for every backend
        lines += ["", "Data contrast (mean cosine of the 1st / 10th / 100th nearest chunk / the median chunk): "
                  f"{contrast['top1']:.3f} / {contrast['top10']:.3f} / {contrast['top100']:.3f} / "
                  f"{contrast['median']:.3f}."]
    return lines


def recall_local_lines(part: dict) -> list[str]:
    ingest = "; ".join(f"{r['backend']} {r['chunks']} chunks in {r['attach_s']:.1f} s"
                       f" ({r['chunks_per_s']:.0f} chunks/s, uploads {r['upload_s']:.1f} s)" for r in part["ingest"])
    lines = [
        f"Model: {part['model']}, INGEST_WORKERS={part['ingest_workers']}, ef_search={part['hnsw_ef_search']}. "
        f"Data: {part['chunks']} chunks ({part['files']} files of generated English sentences), static chunks "
        f"of {part['chunk_tokens']} tokens (overlap {part['chunk_overlap']}); filter: {part.get('filter_chunks', '-')} "
        f"chunks; {part.get('queries', '-')} queries (phrases of the corpus, embedded with the same model).",
        f"**EXACT_SEARCH_MAX_CHUNKS lowered to {part['exact_search_max_chunks']} so HNSW answers** the unfiltered "
        "searches (the filtered ones stay exact). Ground truth: numpy brute force over the vectors the service "
        "stored (read back from the backend).",
        f"Ingest through the API (batch created to completed, local model): {ingest or '-'}.",
        "",
        *recall_lines(part["rows"]),
    ]
    for row in part["rows"]:
        if row.get("selectivity"):
            lines += ["", f"Filtered subsets ({row['backend']}, `group in` the first s groups): HNSW with iterative"
                      " scans (index alone) against the exact scan of the subset, the choice EXACT_SEARCH_MAX_CHUNKS"
                      " makes:", "",
                      "| subset | chunks | HNSW recall@10 (min) | HNSW p50 / p95 ms | exact p50 / p95 ms |",
                      "|---|---|---|---|---|"]
            lines += [f"| {r['share_percent']} % | {r['matching_chunks']} | {r['hnsw_recall']:.3f}"
                      f" ({r['hnsw_recall_min']:.2f}) | {_f(r['hnsw_ms']['p50'])} / {_f(r['hnsw_ms']['p95'])}"
                      f" | {_f(r['exact_ms']['p50'])} / {_f(r['exact_ms']['p95'])} |" for r in row["selectivity"]]
    return lines


def ingest_lines(rows: list[dict], onnx: dict | None) -> list[str]:
    lines = [
        "| backend | chunks | API: total s (uploads s) | API chunks/s | raw bulk s | raw chunks/s | API/raw "
        "| target >= 0.5x |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['chunks']} | {_f(r['api_s'], 1)} ({_f(r['upload_s'], 1)}) "
            f"| {_f(r['api_chunks_per_s'], 0)} | {_f(r.get('raw_s'), 1)} | {_f(r.get('raw_chunks_per_s'), 0)} "
            f"| {_f(r.get('ratio'))}x | {_met(r.get('met'))} |"
        )
    if onnx:
        lines += [
            "",
            "| local ONNX embedder | chunks | embedder alone (s) | pipeline (s) | pipeline/embedder | target <= 1.1x |",
            "|---|---|---|---|---|---|",
            f"| pgvector | {onnx['chunks']} | {_f(onnx['embedder_s'], 1)} | {_f(onnx['pipeline_s'], 1)} "
            f"| {_f(onnx['ratio'])}x | {_met(onnx['met'])} |",
        ]
    return lines


def storage_lines(storage: dict[str, dict[str, float]]) -> list[str]:
    lines = ["| backend | structure | bytes per chunk |", "|---|---|---|"]
    for backend, parts in storage.items():
        lines += [f"| {backend} | {name} | {value:,.0f} |" for name, value in parts.items()]
    return lines


def concurrency_lines(rows: list[dict]) -> list[str]:
    lines = [
        "| backend | clients | req/s | p50 / p95 (ms) | errors | busy cores (machine) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lat = r["latency_ms"]
        lines.append(
            f"| {r['backend']} | {r['clients']} | {_f(r['throughput_rps'], 1)} | {_f(lat['p50'], 1)} / "
            f"{_f(lat['p95'], 1)} | {r['errors']} | {_f(r['busy_cores'], 1)} |"
        )
    return lines


def targets(results: dict) -> list[dict]:
    """One line per target: what, figure, met."""
    out = []
    for r in results.get("search", []):
        out.append({"target": f"search overhead {r['backend']} {r['case']} (API p50 <= 1.5x raw)",
                    "figure": f"{_f(r['ratio_p50'])}x", "met": r["met"]})
        if "hybrid_met" in r:
            out.append({"target": f"hybrid {r['backend']} at {results['meta']['chunks']} chunks"
                        " (API p50 <= 2x dense API p50)",
                        "figure": f"{_f(r['hybrid_over_dense_api_p50'])}x", "met": r["hybrid_met"]})
    for r in results.get("recall", []):
        out.append({"target": f"recall@10 {r['backend']} {r['case']} (>= 0.95)",
                    "figure": _f(r["api_recall"], 3), "met": r["met"]})
    for r in (results.get("recall_local") or {}).get("rows", []):
        out.append({"target": f"recall@10 local model {r['backend']} {r['case']} (>= 0.95)",
                    "figure": _f(r["api_recall"], 3), "met": r["met"]})
    for r in results.get("ingest", []):
        if "ratio" in r:
            out.append({"target": f"ingest {r['backend']} (API >= 0.5x raw bulk)",
                        "figure": f"{_f(r['ratio'])}x", "met": r["met"]})
    out += quality.targets(results.get("quality") or [])
    if results.get("onnx"):
        o = results["onnx"]
        out.append({"target": "ingest with local ONNX (pipeline <= 1.1x embedder)",
                    "figure": f"{_f(o['ratio'])}x", "met": o["met"]})
    if results.get("cold_start"):
        worst = max(results["cold_start"]["handlers"], key=lambda h: h["ratio"])
        out.append({"target": "cold start (every handler <= 1.25x bare FastAPI+Mangum)",
                    "figure": f"{_f(worst['ratio'])}x (worst: {worst['handler']})",
                    "met": all(h["met"] for h in results["cold_start"]["handlers"])})
    for backend in dict.fromkeys(r["backend"] for r in results.get("concurrency", [])):
        levels = sorted((r for r in results["concurrency"] if r["backend"] == backend), key=lambda r: r["clients"])
        errors = sum(r["errors"] for r in levels)
        best = max(levels, key=lambda r: r["throughput_rps"])
        saturated = next((r for r in levels if (r["busy_cores"] or 0) >= 0.9 * (results["meta"]["cores"] or 1)), None)
        # Throughput must grow with clients until the CPU is saturated (then stay about flat).
        grows = all(
            b["throughput_rps"] >= 0.9 * a["throughput_rps"]
            or (a["busy_cores"] or 0) >= 0.9 * (results["meta"]["cores"] or 1)
            for a, b in zip(levels, levels[1:], strict=False)
        )
        out.append({"target": f"concurrency {backend} (no errors; throughput grows until the CPU is saturated)",
                    "figure": f"{errors} errors; {levels[0]['throughput_rps']:.0f} -> {best['throughput_rps']:.0f} req/s"
                    + (f", CPU saturated at {saturated['clients']} clients" if saturated else ""),
                    "met": errors == 0 and grows})
    return out


def markdown(results: dict) -> str:
    lines = ["# Benchmark results", "", *meta_lines(results["meta"]), ""]
    sections = [
        ("Search overhead", search_lines(results["search"]) if results.get("search") else None),
        ("Recall", recall_lines(results["recall"]) if results.get("recall") else None),
        ("Recall, local model (real embeddings)",
         recall_local_lines(results["recall_local"]) if (results.get("recall_local") or {}).get("rows") else None),
        ("Ingest", ingest_lines(results.get("ingest", []), results.get("onnx"))
         if results.get("ingest") or results.get("onnx") else None),
        ("Storage per chunk", storage_lines(results["storage"]) if results.get("storage") else None),
        ("Retrieval quality (labelled data, local model)",
         quality.lines(results["quality"]) if results.get("quality") else None),
        ("Cold start", cold_start.table(results["cold_start"]) if results.get("cold_start") else None),
        ("Concurrency", concurrency_lines(results["concurrency"]) if results.get("concurrency") else None),
    ]
    for title, body in sections:
        if body:
            lines += [f"## {title}", "", *body, ""]
    lines += ["## Targets", "", "| target | figure | |", "|---|---|---|"]
    lines += [f"| {t['target']} | {t['figure']} | {_met(t['met'])} |" for t in targets(results)]
    if results["meta"].get("notes"):
        lines += ["", *[f"- {note}" for note in results["meta"]["notes"]]]
    return "\n".join(lines) + "\n"


def write(results: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    results = {**results, "targets": targets(results)}
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    md = path.with_suffix(".md")
    md.write_text(markdown(results))
    return md
