"""Vector store files and file batches: /v1/vector_stores/{id}/files and /file_batches."""

from vector_store_api.api.routes.vector_store_files import router
from vector_store_api.aws.runtime import http_handler

handler = http_handler([router], route_group="vector_store_files")
