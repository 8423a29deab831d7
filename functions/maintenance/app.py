"""Scheduled maintenance: deletes expired files and empties expired vector stores."""

from vector_store_api.aws.maintenance import handler  # noqa: F401
