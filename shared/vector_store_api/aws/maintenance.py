"""The scheduled sweep of expired files and vector stores (the local server runs it on a thread)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from .runtime import logger, metrics, services


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    files, stores = services().sweep_expired()
    metrics.add_metric(name="ExpiredFilesDeleted", unit=MetricUnit.Count, value=files)
    metrics.add_metric(name="ExpiredStoresEmptied", unit=MetricUnit.Count, value=stores)
    logger.info("expiry sweep", extra={"files": files, "stores": stores})
    return {"expired_files": files, "expired_stores": stores}
