"""Vector store files and file batches: /v1/vector_stores/{id}/files and /file_batches."""

import gc

gc.disable()  # until end_init(): see there

from vector_store_api.api.routes.vector_store_files import router  # noqa: E402
from vector_store_api.aws.runtime import end_init, http_handler  # noqa: E402

handler = http_handler([router], route_group="vector_store_files")
end_init()
