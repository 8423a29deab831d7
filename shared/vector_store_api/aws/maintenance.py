"""The scheduled sweeps (the local server runs them on threads): expired files and vector stores,
and stuck ingests (files in progress whose job died or whose message was lost, re-enqueued)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from .runtime import logger, metrics, services


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    svc = services()
    files, stores = svc.sweep_expired()
    resumed = svc.resume_stuck()
    metrics.add_metric(name="ExpiredFilesDeleted", unit=MetricUnit.Count, value=files)
    metrics.add_metric(name="ExpiredStoresEmptied", unit=MetricUnit.Count, value=stores)
    metrics.add_metric(name="StuckIngestsResumed", unit=MetricUnit.Count, value=resumed)
    logger.info("maintenance sweep", extra={"files": files, "stores": stores, "resumed_ingests": resumed})
    return {"expired_files": files, "expired_stores": stores, "resumed_ingests": resumed}
