"""Vector store files and file batches: /v1/vector_stores/{id}/files and /file_batches."""

from vector_store_api.app import VECTOR_STORE_FILES
from vector_store_api.aws.runtime import http_handler

handler = http_handler([VECTOR_STORE_FILES], route_group="vector_store_files")
