"""Search: /v1/vector_stores/{id}/search."""

from vector_store_api.api.routes.search import router
from vector_store_api.aws.runtime import http_handler

handler = http_handler([router], route_group="search")
