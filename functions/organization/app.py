"""Organization API: /v1/organization/... (projects, API keys, rate limits, quotas, usage)."""

from vector_store_api.api.routes.organization import router
from vector_store_api.aws.runtime import http_handler

handler = http_handler([router], route_group="organization")
