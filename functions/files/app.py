"""Files API: /v1/files (and /health)."""

from vector_store_api.api.routes.files import router
from vector_store_api.aws.runtime import http_handler

handler = http_handler([router], route_group="files")
