"""All configuration, read from the environment in one place."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    try:
        from platformdirs import user_data_dir
    except ImportError:  # Lambda layer: no local extras, DATA_DIR unused there.
        return Path.home() / ".local" / "share" / "vector-store-api"
    return Path(user_data_dir("vector-store-api", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    # Local server
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Field(default_factory=_default_data_dir)

    # PostgreSQL + pgvector; unset means the embedded server (pgserver) under DATA_DIR.
    database_url: SecretStr | None = None
    db_pool_min_size: int = 1
    db_pool_max_size: int = 10
    # Outages (README, "Reliability"): a pool busy under load is waited on for DB_CHECKOUT_TIMEOUT;
    # a database, OpenSearch or embeddings endpoint found unreachable is probed for at most
    # OUTAGE_PROBE_TIMEOUT, then refused at once (503, Retry-After) for OUTAGE_COOLDOWN_SECONDS.
    db_checkout_timeout: float = Field(10.0, gt=0)
    db_connect_timeout: float = Field(2.0, gt=0)
    outage_probe_timeout: float = Field(1.0, gt=0)
    outage_cooldown_seconds: float = Field(1.0, gt=0)
    # How long one request may keep the server busy: past it the work is stopped and the client gets a
    # 504 (`timeout`). The template sets 25 s on Lambda, below API Gateway's 30 s.
    request_timeout_seconds: float = Field(30.0, gt=0)
    # Local server: on SIGTERM/SIGINT the requests running get this long to finish (new ones get a 503).
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    # HNSW build/search parameters (pgvector defaults are m=16, ef_construction=64, ef_search=40).
    hnsw_m: int = 16
    hnsw_ef_construction: int = 64
    hnsw_ef_search: int = 100
    # Stores (or filtered subsets) with at most this many chunks are searched exactly.
    exact_search_max_chunks: int = 20_000

    # Vector backend for new stores (a store may pick another with `provider_id`; it keeps its own).
    vector_backend: Literal["pgvector", "opensearch"] = "pgvector"
    opensearch_url: str | None = None  # setting it makes the OpenSearch backend available
    opensearch_auth: Literal["none", "basic", "sigv4"] = "none"
    opensearch_username: str | None = None
    opensearch_password: SecretStr | None = None
    opensearch_password_secret_id: str | None = None  # Lambda: the basic-auth password from Secrets Manager
    opensearch_aws_service: Literal["es", "aoss"] = "es"  # SigV4: OpenSearch Service or Serverless
    opensearch_region: str | None = None  # SigV4 region; defaults to the AWS SDK's
    opensearch_verify_certs: bool = True
    opensearch_ca_certs: Path | None = None
    opensearch_engine: Literal["lucene", "faiss"] = "lucene"
    # gzip request bodies: fewer bytes on a slow link, but it costs the client CPU (17 % of ingest
    # time here, next to the node) and the node CPU to inflate.
    opensearch_http_compress: bool = False
    opensearch_index_prefix: str = "vector-store-chunks"
    opensearch_shards: int = 1
    # Serverless (aoss) has no refresh: writes wait up to this long until they are searchable.
    opensearch_visibility_timeout: float = 120.0
    opensearch_replicas: int = 0
    # Pooled connections to the node; unset: one per thread that may use it (requests + ingest workers).
    opensearch_pool_size: int | None = Field(None, ge=1)

    # Embeddings
    embedding_provider: Literal["openai", "local", "hash"] = "local"
    embedding_model: str | None = None  # provider default when unset
    embedding_dimension: int | None = None  # provider default when unset
    embedding_batch_size: int = 64  # texts per local-model batch (OpenAI requests size themselves)
    # ONNX threads per local-model call; unset: cores / INGEST_WORKERS (concurrent ingest jobs share
    # the cores instead of oversubscribing them).
    embedding_threads: int | None = Field(None, ge=1)
    local_embedding_model_dir: Path | None = None
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    # Chat model used for rewrite_query; unset -> deterministic keyword rewrite.
    query_rewrite_model: str | None = None

    # Generation for POST /v1/responses: any OpenAI-compatible Chat Completions endpoint (OpenAI, a
    # gateway, vLLM, Ollama). Configured when CHAT_COMPLETIONS_BASE_URL or an API key is set (no
    # base URL: api.openai.com); unconfigured, /v1/responses answers 503 model_backend_unavailable.
    chat_completions_base_url: str | None = None
    chat_completions_api_key: SecretStr | None = None
    chat_completions_api_key_secret_id: str | None = None  # Lambda: the key from Secrets Manager
    # Comma-separated models a request may name (empty: any, passed through). A model outside the
    # list runs as CHAT_COMPLETIONS_DEFAULT_MODEL when that is set, else it is a 404 model_not_found.
    chat_completions_models: str = ""
    chat_completions_default_model: str | None = None
    chat_completions_supports_tools: bool = True  # false: one search with the user's input, then answer
    chat_completions_timeout: float = Field(120.0, gt=0)  # per upstream call
    chat_completions_connect_timeout: float = Field(3.0, gt=0)
    # One response: at most this many file_search calls (a request's max_tool_calls may lower it),
    # and this long for all its upstream calls and searches together.
    responses_max_tool_calls: int = Field(3, ge=1)
    responses_time_budget_seconds: float = Field(300.0, gt=0)

    # AWS (serverless). Secrets are referenced by id and fetched at cold start, never passed as values.
    database_secret_id: str | None = None  # Secrets Manager: a URL, or RDS JSON {username, password, host, port, dbname}
    database_url_parameter: str | None = None  # SSM SecureString holding the URL (alternative to the secret)
    # For secrets holding only username/password (RDS-managed master user secrets):
    database_host: str | None = None
    database_port: int = 5432
    database_name: str = "postgres"
    openai_api_key_secret_id: str | None = None
    files_bucket: str | None = None  # S3 bucket for uploaded files; unset -> local disk
    ingest_queue_url: str | None = None  # SQS ingest queue; unset -> in-process worker
    ingest_dlq_url: str | None = None  # where malformed messages are sent, with their reason
    ingest_max_receive_count: int = 5  # the queue's redrive maxReceiveCount: the last try settles the file
    idempotency_table: str | None = None  # DynamoDB table for Powertools idempotency (bulk messages)
    tracing: bool = False  # Lambda: X-Ray traces through Powertools' Tracer (adds ~200 ms to cold starts)

    # API keys. Setting ADMIN_API_KEY (or creating an admin key with `python -m vector_store_api.tools.keys`)
    # switches key checking on: from then on only issued keys work. Until then each bearer token is its
    # own tenant.
    admin_api_key: SecretStr | None = None
    admin_api_key_secret_id: str | None = None  # Lambda: the bootstrap admin key from Secrets Manager
    # How long a process reuses a key lookup. Changes made through this process apply at once; other
    # processes (Lambda containers) see a revocation within this time.
    api_key_cache_seconds: float = Field(5.0, ge=0)

    # Rate limits (GCRA token buckets; 0 disables). Buckets live in DynamoDB when RATE_LIMIT_TABLE is
    # set (Lambda), else in the catalog's PostgreSQL. Defaults; an admin may set others per project/key.
    rate_limit_requests_per_minute: int = Field(3000, ge=0)  # per API key
    store_writes_per_minute: int = Field(300, ge=0)  # per vector store: file attaches and file batches together
    rate_limit_window_seconds: float = Field(60.0, gt=0)  # the "minute"; shorter only for tests
    rate_limit_table: str | None = None  # DynamoDB table holding the buckets

    # Default quotas (0 = unlimited); an admin may set others per project.
    quota_max_files: int = Field(0, ge=0)  # files per project (/v1/files)
    quota_max_bytes: int = Field(0, ge=0)  # bytes of files per project
    quota_max_chunks: int = Field(0, ge=0)  # chunks per project, all vector stores together
    quota_max_vector_store_files: int = Field(10_000, ge=0)  # files per vector store
    quota_max_vector_store_bytes: int = Field(0, ge=0)  # usage_bytes per vector store
    quota_max_vector_store_chunks: int = Field(0, ge=0)  # chunks per vector store

    # Usage counters per project, vector store and day: DynamoDB when USAGE_TABLE is set (Lambda), else
    # the catalog's PostgreSQL. Counts are buffered in memory and written every USAGE_FLUSH_SECONDS
    # (Lambda: at the end of each invocation).
    usage_table: str | None = None
    usage_retention_days: int = Field(400, ge=1)
    usage_flush_seconds: float = Field(5.0, gt=0)
    metrics_endpoint: bool = True  # local server: Prometheus text format at /metrics
    # Local server: the OpenAPI document at /openapi.json, and Swagger UI at /docs (with the document).
    openapi_enabled: bool = True
    docs_enabled: bool = True

    # Ingestion
    ingest_workers: int = 2
    max_file_bytes: int = Field(512 * 1024 * 1024, ge=1)  # OpenAI's per-file limit; checked while uploading
    max_file_tokens: int = 5_000_000
    # Bounds on parsing one file (see ingest/bounds.py for why these numbers): the text extracted from
    # it, and the time parsing it may take. A file over either ends `failed` / `invalid_file`.
    max_file_text_chars: int = Field(50_000_000, ge=1)
    max_parse_seconds: float = Field(300.0, gt=0)
    poll_after_ms: int = 500
    expiry_sweep_seconds: float = 60.0
    # A job failing on a transient error (a dependency down) is retried with backoff (doubling up to
    # INGEST_BACKOFF_MAX_SECONDS) for INGEST_RETRY_SECONDS since its first attempt; then the file
    # fails (`server_error`, naming what was down).
    ingest_retry_seconds: float = Field(900.0, gt=0)
    ingest_backoff_max_seconds: float = Field(30.0, gt=0)
    # A running job renews its lease every third of INGEST_LEASE_SECONDS; a lease that runs out means
    # the job died. The stuck-ingest sweep (every INGEST_SWEEP_SECONDS locally; the maintenance
    # function on AWS) re-enqueues such files, and files no job picked up within
    # INGEST_UNCLAIMED_SECONDS (a lost message); a file whose job died INGEST_MAX_RESUMES times fails.
    ingest_lease_seconds: float = Field(60.0, ge=3)
    ingest_unclaimed_seconds: float = Field(900.0, gt=0)
    ingest_max_resumes: int = Field(3, ge=0)
    ingest_sweep_seconds: float = Field(30.0, gt=0)


    @property
    def chat_completions_configured(self) -> bool:
        return bool(self.chat_completions_base_url or self.chat_completions_api_key)

    @property
    def chat_model_allow_list(self) -> frozenset[str]:
        return frozenset(m.strip() for m in self.chat_completions_models.split(",") if m.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
