"""Search: /v1/vector_stores/{id}/search."""

from vector_store_api.app import SEARCH
from vector_store_api.aws.runtime import http_handler

handler = http_handler([SEARCH], route_group="search")
