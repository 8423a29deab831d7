"""Prometheus metrics for the local server's /metrics (no tenant labels: nothing private in them)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest


class PrometheusMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vector_store_api_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "vector_store_api_request_duration_seconds",
            "HTTP request duration",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.searches = Counter("vector_store_api_searches", "Successful searches", registry=self.registry)
        self.files_ingested = Counter("vector_store_api_files_ingested", "Files ingested", registry=self.registry)
        self.files_failed = Counter(
            "vector_store_api_files_failed", "Files that failed to ingest", ["code"], registry=self.registry
        )
        self.chunks = Counter("vector_store_api_chunks_embedded", "Chunks embedded and indexed", registry=self.registry)
        self.tokens = Counter("vector_store_api_tokens_embedded", "Tokens embedded", registry=self.registry)
        self.bytes = Counter("vector_store_api_bytes_ingested", "Vector store bytes added", registry=self.registry)
        self.responses = Counter("vector_store_api_responses", "Responses answered", registry=self.registry)
        self.tool_searches = Counter(
            "vector_store_api_tool_searches", "Vector store searches made by the file_search tool", registry=self.registry
        )
        self.upstream_tokens = Counter(
            "vector_store_api_upstream_tokens", "Chat completions tokens", ["kind"], registry=self.registry
        )

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method=method, route=route, status=str(status)).inc()
        self.latency.labels(method=method, route=route).observe(seconds)

    def ingested(self, chunks: int, tokens: int, usage_bytes: int) -> None:
        self.files_ingested.inc()
        self.chunks.inc(chunks)
        self.tokens.inc(tokens)
        self.bytes.inc(usage_bytes)

    def responded(self, input_tokens: int, output_tokens: int) -> None:
        self.responses.inc()
        self.upstream_tokens.labels(kind="input").inc(input_tokens)
        self.upstream_tokens.labels(kind="output").inc(output_tokens)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
