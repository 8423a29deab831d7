"""Search: /v1/vector_stores/{id}/search."""

import gc

gc.disable()  # until end_init(): see there

from vector_store_api.api.routes.search import router  # noqa: E402
from vector_store_api.aws.runtime import end_init, http_handler  # noqa: E402

handler = http_handler([router], route_group="search")
end_init()
