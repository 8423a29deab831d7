"""Vector stores: /v1/vector_stores and /v1/vector_stores/{id}."""

import gc

gc.disable()  # until end_init(): see there

from vector_store_api.api.routes.vector_stores import router  # noqa: E402
from vector_store_api.aws.runtime import end_init, http_handler  # noqa: E402

handler = http_handler([router], route_group="vector_stores")
end_init()
