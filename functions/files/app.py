"""Files API: /v1/files (and /health)."""

from vector_store_api.app import FILES
from vector_store_api.aws.runtime import http_handler

handler = http_handler([FILES], route_group="files")
