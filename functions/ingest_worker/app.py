"""SQS ingest worker (partial batch failures reported)."""

from vector_store_api.aws.worker import handler  # noqa: F401
