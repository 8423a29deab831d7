"""Dead-letter queue consumer: settles files whose ingest messages died, logs malformed ones."""

from vector_store_api.aws.worker import dlq_handler as handler  # noqa: F401
