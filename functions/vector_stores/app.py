"""Vector stores: /v1/vector_stores and /v1/vector_stores/{id}."""

from vector_store_api.app import VECTOR_STORES
from vector_store_api.aws.runtime import http_handler

handler = http_handler([VECTOR_STORES], route_group="vector_stores")
