"""Files API: /v1/files (and /health, /ready)."""

import gc

gc.disable()  # until end_init(): see there

from vector_store_api.api.routes.files import router  # noqa: E402
from vector_store_api.aws.runtime import end_init, http_handler  # noqa: E402

handler = http_handler([router], route_group="files")
end_init()
