"""Responses: /v1/responses (the file_search tool; generation by a Chat Completions endpoint)."""

import gc

gc.disable()  # until end_init(): see there

from vector_store_api.api.routes.responses import router  # noqa: E402
from vector_store_api.aws.runtime import end_init, http_handler  # noqa: E402

handler = http_handler([router], route_group="responses")
end_init()
