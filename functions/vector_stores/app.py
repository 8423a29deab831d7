"""Vector stores: /v1/vector_stores and /v1/vector_stores/{id}."""

from vector_store_api.api.routes.vector_stores import router
from vector_store_api.aws.runtime import http_handler

handler = http_handler([router], route_group="vector_stores")
