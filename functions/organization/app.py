"""Organization API: /v1/organization/... (projects, API keys, rate limits, quotas, usage)."""

from vector_store_api.app import ORGANIZATION
from vector_store_api.aws.runtime import http_handler

handler = http_handler([ORGANIZATION], route_group="organization")
