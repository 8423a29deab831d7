"""Wiring: builds the adapters and services from Settings. Local mode and Lambda share it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .blobstore.base import BlobStore
from .blobstore.local import LocalBlobStore
from .catalog import Catalog
from .catalog.accounts import Accounts
from .catalog.database import Database, start_embedded_server, stop_embedded_servers
from .chat.base import ChatBackend
from .embeddings.base import Embedder
from .embeddings.factory import build_embedder, resolve_embedding_config
from .ids import now
from .ingest.bounds import ParseLimits
from .limits.base import BucketStore
from .limits.postgres_store import PostgresBucketStore
from .limits.rate_limiter import RateLimiter
from .queue.base import IngestJob, IngestQueue
from .resilience import CircuitBreaker
from .services.auth import Authenticator
from .services.files import FileService
from .services.ingest import IngestPipeline
from .services.projects import ProjectService
from .services.query_rewrite import build_rewriter
from .services.responses import ResponsesConfig, ResponsesService
from .services.search import SearchService
from .services.usage import UsageService
from .services.vector_stores import VectorStoreService
from .settings import Settings
from .usage.base import UsageStore
from .usage.postgres_store import PostgresUsageStore
from .usage.recorder import UsageRecorder, utc_day
from .vector_index.base import VectorIndex, VectorIndexes
from .vector_index.pgvector.index import PgVectorIndex

if TYPE_CHECKING:
    from .usage.prometheus import PrometheusMetrics

log = logging.getLogger(__name__)

QueueFactory = Callable[[IngestPipeline], IngestQueue]


@dataclass
class Services:
    settings: Settings
    db: Database
    catalog: Catalog
    indexes: VectorIndexes
    blobs: BlobStore
    queue: IngestQueue
    pipeline: IngestPipeline
    files: FileService
    stores: VectorStoreService
    search: SearchService
    limiter: RateLimiter
    auth: Authenticator
    projects: ProjectService
    usage: UsageRecorder
    usage_reports: UsageService
    default_embedder: Callable[[], Embedder]
    responses: ResponsesService
    chat: ChatBackend | None = None

    @property
    def poll_after_ms(self) -> int:
        return self.settings.poll_after_ms

    def readiness(self) -> dict[str, bool]:
        """What serving needs, each True while reachable: the catalog, every vector backend, and the
        default embeddings endpoint (unavailable while its last call found it down)."""
        checks = {"database": self.db.ping()}
        checks.update({f"vector_backend:{name}": up for name, up in self.indexes.ping_all().items()})
        checks["embeddings"] = self.default_embedder().available
        if self.chat is not None:  # only where /v1/responses is configured to generate
            checks["chat_completions"] = self.chat.available
        return checks

    def resume_unfinished(self) -> int:
        """At start-up of the local server (one per database): re-queue every in-progress attachment.
        This process's queue was lost, and any lease left is a dead process's."""
        current = now()
        return self._resume(current + int(self.settings.ingest_lease_seconds) + 1, current + 1)

    def resume_stuck(self) -> int:
        """The stuck-ingest sweep: re-queue in-progress attachments whose job died (its lease ran
        out) or that no job picked up within INGEST_UNCLAIMED_SECONDS (a lost message). The pipeline
        is idempotent and skips a file a live job holds, so a duplicate is harmless; a file whose job
        died too often is failed by the pipeline when it runs."""
        current = now()
        return self._resume(current, current - int(self.settings.ingest_unclaimed_seconds))

    def _resume(self, leases_before: int, unclaimed_before: int) -> int:
        reserve_until = now() + int(self.settings.ingest_unclaimed_seconds)
        rows = self.catalog.resume_stuck(leases_before, unclaimed_before, reserve_until)
        if rows:
            self.queue.enqueue([IngestJob(*row) for row in rows])
        return len(rows)

    def sweep_expired(self) -> tuple[int, int]:
        if isinstance(self.limiter.store, PostgresBucketStore):
            self.limiter.store.delete_expired()  # full buckets (DynamoDB expires them by TTL)
        retention = self.settings.usage_retention_days * 86_400
        self.usage.store.delete_before(utc_day(time.time() - retention))
        return self.files.delete_expired(), self.stores.expire_stores()

    def close(self) -> None:
        self.usage.flush()
        self.search.close()
        close_queue = getattr(self.queue, "close", None)
        if close_queue:
            close_queue()
        self.db.close()
        stop_embedded_servers()


def database_url(settings: Settings) -> str:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return start_embedded_server(settings.data_dir)


def embedding_resolver(settings: Settings) -> Callable[[str | None, int | None], tuple[str, str, int]]:
    """(requested model, requested dimension) -> the store's (provider, model, dimension)."""

    def resolve(model: str | None, dimension: int | None) -> tuple[str, str, int]:
        provider = settings.embedding_provider
        if model is None:
            model = settings.embedding_model
            dimension = dimension if dimension is not None else settings.embedding_dimension
        resolved_model, resolved_dimension = resolve_embedding_config(provider, model, dimension)
        return provider, resolved_model, resolved_dimension

    return resolve


def build_indexes(settings: Settings, db: Database) -> dict[str, VectorIndex]:
    """pgvector always (it shares the catalog's database); OpenSearch when OPENSEARCH_URL is set."""
    indexes: dict[str, VectorIndex] = {
        "pgvector": PgVectorIndex(
            db,
            hnsw_m=settings.hnsw_m,
            hnsw_ef_construction=settings.hnsw_ef_construction,
            hnsw_ef_search=settings.hnsw_ef_search,
            exact_search_max_chunks=settings.exact_search_max_chunks,
        )
    }
    if settings.opensearch_url:
        from .vector_index.opensearch.client import build_client
        from .vector_index.opensearch.cluster import ClusterIndex
        from .vector_index.opensearch.index import IndexOptions
        from .vector_index.opensearch.serverless import ServerlessIndex

        client = build_client(settings, CircuitBreaker("OpenSearch", settings.outage_cooldown_seconds))
        options = IndexOptions(
            engine=settings.opensearch_engine,
            index_prefix=settings.opensearch_index_prefix,
            hnsw_m=settings.hnsw_m,
            hnsw_ef_construction=settings.hnsw_ef_construction,
            hnsw_ef_search=settings.hnsw_ef_search,
            exact_search_max_chunks=settings.exact_search_max_chunks,
        )
        if settings.opensearch_aws_service == "aoss":  # SigV4 to Serverless: a vector collection
            indexes["opensearch"] = ServerlessIndex(
                client, visibility_timeout=settings.opensearch_visibility_timeout, **options
            )
        else:
            indexes["opensearch"] = ClusterIndex(
                client, shards=settings.opensearch_shards, replicas=settings.opensearch_replicas, **options
            )
    return indexes


def build_services(
    settings: Settings,
    *,
    blobs: BlobStore | None = None,
    queue_factory: QueueFactory | None = None,
    buckets: BucketStore | None = None,
    usage_store: UsageStore | None = None,
    metrics: PrometheusMetrics | None = None,
    single_process: bool = False,
) -> Services:
    """`buckets` (rate-limit state) and `usage_store` (usage counters): DynamoDB on Lambda, else the
    catalog's PostgreSQL. `metrics`: Prometheus counters for the local server's /metrics.
    `single_process`: the local server, the only user of its rate-limit buckets."""
    # Fail fast on a bad default embedding configuration, before anything is created.
    resolve = embedding_resolver(settings)
    resolve(None, None)

    db = Database(
        database_url(settings),
        settings.db_pool_min_size,
        settings.db_pool_max_size,
        checkout_timeout=settings.db_checkout_timeout,
        connect_timeout=settings.db_connect_timeout,
        probe_timeout=settings.outage_probe_timeout,
        breaker=CircuitBreaker("the database", settings.outage_cooldown_seconds),
    )
    catalog = Catalog(db)
    indexes = VectorIndexes(build_indexes(settings, db), default=settings.vector_backend)
    blobs = blobs or LocalBlobStore(settings.data_dir / "files")
    usage = UsageRecorder(usage_store or PostgresUsageStore(db), metrics=metrics)
    accounts = Accounts(db)
    auth = Authenticator(accounts, settings)
    projects = ProjectService(accounts, auth, lambda tenant: catalog.quota_usage(tenant, now()))
    limits_for = projects.limits_for

    def embedder_for(provider: str, model: str, dimension: int) -> Embedder:
        return build_embedder(provider, model, dimension, settings)

    parse_limits = ParseLimits(settings.max_file_text_chars, settings.max_parse_seconds)
    pipeline = IngestPipeline(
        catalog,
        indexes,
        blobs,
        embedder_for,
        limits_for,
        usage,
        max_file_tokens=settings.max_file_tokens,
        lease_seconds=settings.ingest_lease_seconds,
        retry_seconds=settings.ingest_retry_seconds,
        max_resumes=settings.ingest_max_resumes,
        parse_limits=parse_limits,
    )
    if queue_factory is None:
        from .queue.in_process import InProcessQueue

        queue: IngestQueue = InProcessQueue(
            pipeline.process, workers=settings.ingest_workers, backoff_max_seconds=settings.ingest_backoff_max_seconds
        )
    else:
        queue = queue_factory(pipeline)
    files = FileService(catalog, blobs, indexes, settings.max_file_bytes, limits_for, usage)
    stores = VectorStoreService(
        catalog, indexes, blobs, queue, resolve, indexes.providers, limits_for, parse_limits=parse_limits
    )
    search = SearchService(catalog, indexes, stores, embedder_for, build_rewriter(settings))
    limiter = RateLimiter(buckets or PostgresBucketStore(db), sole_writer=single_process)
    chat = build_chat_backend(settings)
    responses = ResponsesService(catalog, stores, search, chat, usage, responses_config(settings))
    return Services(
        settings, db, catalog, indexes, blobs, queue, pipeline, files, stores, search, limiter,
        auth, projects, usage, UsageService(usage.store, usage),
        lambda: embedder_for(*resolve(None, None)),
        responses, chat,
    )


def build_chat_backend(settings: Settings) -> ChatBackend | None:
    """The Chat Completions endpoint behind /v1/responses, or None where none is configured."""
    if not settings.chat_completions_configured:
        return None
    from .chat.openai_compat import OpenAIChatBackend

    key = settings.chat_completions_api_key
    return OpenAIChatBackend(
        settings.chat_completions_base_url,
        key.get_secret_value() if key else None,
        connect_timeout=settings.chat_completions_connect_timeout,
        cooldown=settings.outage_cooldown_seconds,
    )


def responses_config(settings: Settings) -> ResponsesConfig:
    return ResponsesConfig(
        max_tool_calls=settings.responses_max_tool_calls,
        time_budget_seconds=settings.responses_time_budget_seconds,
        call_timeout_seconds=settings.chat_completions_timeout,
        supports_tools=settings.chat_completions_supports_tools,
        allowed_models=settings.chat_model_allow_list,
        default_model=settings.chat_completions_default_model,
    )
