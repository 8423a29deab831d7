"""Organization API: /v1/organization/... (projects, API keys, rate limits, quotas, usage), and the
admin console's static pages at /admin (a small module: FastAPI and file paths only)."""

import gc

gc.disable()  # until end_init(): see there

from vector_store_api.admin_console import router as admin_console  # noqa: E402
from vector_store_api.api.routes.organization import router  # noqa: E402
from vector_store_api.aws.runtime import end_init, http_handler  # noqa: E402

handler = http_handler([router, admin_console], route_group="organization")
end_init()
