"""The SQS ingest worker: per-file ingestion and bulk ingest, with partial batch failures.

- `ingest_file`: runs the same pipeline as local mode. Transient errors fail only that record (SQS
  redelivers it after the visibility timeout); on the queue's last delivery (ApproximateReceiveCount
  == maxReceiveCount), or once the message was first received INGEST_RETRY_SECONDS ago, the file is
  settled `failed` with `last_error` instead, so nothing loops forever.
- `bulk_ingest`: copies the S3 objects into the files bucket as Files, creates file batches for
  them (visible to the API and SDK polling) and fans out one `ingest_file` message per file.
  Guarded by Powertools idempotency (when IDEMPOTENCY_TABLE is set), so a redelivery does no work twice.
- A malformed message, or one that can never succeed (unknown store...), is sent to the DLQ with
  its reason and removed from the batch: it never crashes the batch nor retries pointlessly.
The pipeline itself is idempotent (a re-run replaces the file's chunks), so redeliveries never
duplicate chunks or counts.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any, Callable, Iterator, cast

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import TypeAdapter, ValidationError

from ..errors import APIError
from ..models.common import StaticChunkingStrategy, resolve_chunking
from ..models.vector_stores import MAX_BATCH_FILES, CreateFileBatchRequest
from ..queue.base import IngestJob
from .messages import BulkIngestMessage, IngestFileMessage, IngestMessage
from .runtime import logger, metrics, services, traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.idempotency.config import IdempotencyConfig

    from .s3_blobstore import S3BlobStore

# The bulk ingest function: (payload={"idempotency_key": ..., "message": ...}) -> its result.
BulkRunner = Callable[..., dict[str, Any]]

processor = BatchProcessor(event_type=EventType.SQS)
_message_adapter: TypeAdapter[IngestFileMessage | BulkIngestMessage] = TypeAdapter(IngestMessage)
_idempotent_bulk: BulkRunner | None = None


@functools.cache
def _idempotency_config() -> IdempotencyConfig:
    """Given each invocation's context (see `handler`): an invocation killed at its timeout leaves an
    INPROGRESS record that expires with it, instead of blocking every redelivery for 7 days. Made on
    the first invocation: importing Powertools idempotency pulls in boto3 (~90 ms of cold start)."""
    from aws_lambda_powertools.utilities.idempotency.config import IdempotencyConfig

    return IdempotencyConfig(event_key_jmespath="idempotency_key", expires_after_seconds=7 * 86400)


class PermanentFailure(Exception):
    """The message can never be processed; it goes to the DLQ with this reason."""


def parse_message(body: str) -> IngestFileMessage | BulkIngestMessage:
    try:
        return _message_adapter.validate_json(body)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise PermanentFailure(f"malformed ingest message: {where}: {first['msg']}") from None


def record_handler(record: SQSRecord) -> None:
    metrics.add_metric(name="MessagesReceived", unit=MetricUnit.Count, value=1)
    try:
        message = parse_message(record.body)
        if isinstance(message, IngestFileMessage):
            first_received = record.attributes.approximate_first_receive_timestamp
            ingest_file(
                message,
                token=record.message_id,  # a redelivery of the message takes its own lease back
                first_attempt_at=int(first_received) / 1000 if first_received else None,
                final_attempt=_is_last_delivery(record),
            )
        else:
            bulk_ingest(message, message.idempotency_key or record.message_id)
    except PermanentFailure as failure:
        send_to_dlq(record, str(failure))


def _is_last_delivery(record: SQSRecord) -> bool:
    received = int(record.attributes.approximate_receive_count or 1)
    return received >= services().settings.ingest_max_receive_count


def ingest_file(
    message: IngestFileMessage, *, token: str, first_attempt_at: float | None, final_attempt: bool
) -> None:
    job = IngestJob(message.tenant_id, message.vector_store_id, message.file_id)
    result = services().pipeline.process(
        job, token=token, first_attempt_at=first_attempt_at, final_attempt=final_attempt
    )
    metrics.add_metric(name=f"Files{result.status.capitalize()}", unit=MetricUnit.Count, value=1)
    if result.chunks:
        metrics.add_metric(name="ChunksIndexed", unit=MetricUnit.Count, value=result.chunks)
        metrics.add_metric(name="TokensEmbedded", unit=MetricUnit.Count, value=result.tokens)
    logger.info("ingest_file", extra={"file_id": message.file_id, "status": result.status, "chunks": result.chunks})


def bulk_ingest(message: BulkIngestMessage, idempotency_key: str) -> dict[str, Any]:
    run = _bulk_runner()
    return run(payload={"idempotency_key": f"{message.tenant_id}:{idempotency_key}", "message": message.model_dump(mode="json")})


def _bulk_runner() -> BulkRunner:
    """The bulk ingest function, wrapped in Powertools idempotency when a table is configured."""
    global _idempotent_bulk
    if _idempotent_bulk is None:
        table = services().settings.idempotency_table
        if table:
            from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

            _idempotent_bulk = idempotent_function(
                data_keyword_argument="payload",
                persistence_store=DynamoDBPersistenceLayer(table_name=table),
                config=_idempotency_config(),
            )(_run_bulk)
        else:
            _idempotent_bulk = _run_bulk
    return _idempotent_bulk


def _run_bulk(payload: dict[str, Any]) -> dict[str, Any]:
    message = BulkIngestMessage.model_validate(payload["message"])
    svc = services()
    blobs = cast("S3BlobStore", svc.blobs)  # on Lambda the files bucket is S3 (build_lambda_services)
    try:
        svc.stores.store_config(message.tenant_id, message.vector_store_id, usable=True)
    except APIError as error:
        raise PermanentFailure(f"bulk ingest refused: {error.message}") from None
    keys = list(_source_keys(blobs, message))
    if not keys:
        raise PermanentFailure(f"bulk ingest found no objects in s3://{message.source.bucket}")
    if message.source.keys is not None:  # checked before creating anything: a retry cannot help
        missing = _missing_keys(blobs, message.source.bucket, keys)
        if missing:
            raise PermanentFailure(
                f"bulk ingest: {len(missing)} object(s) not found in s3://{message.source.bucket}: "
                + ", ".join(missing[:10])
            )
    chunking = resolve_chunking(message.chunking_strategy)
    batch_ids: list[str] = []
    rejected: dict[str, str] = {}
    for start in range(0, len(keys), MAX_BATCH_FILES):
        file_ids: list[str] = []
        for key in keys[start : start + MAX_BATCH_FILES]:
            try:
                file_ids.append(
                    svc.files.create(
                        message.tenant_id,
                        key.rsplit("/", 1)[-1],
                        message.purpose,
                        _copy_object(blobs, message.source.bucket, key),
                        # A retry after a half-way failure finds the Files it already made.
                        source=f"bulk:{payload['idempotency_key']}:s3://{message.source.bucket}/{key}",
                    ).id
                )
            except APIError as error:  # e.g. over MAX_FILE_BYTES: retrying cannot help; the rest goes on
                rejected[key] = error.message
        if not file_ids:
            continue
        static = StaticChunkingStrategy.model_validate({"type": "static", "static": chunking.model_dump()})
        request = CreateFileBatchRequest(file_ids=file_ids, attributes=message.attributes, chunking_strategy=static)
        batch = svc.stores.create_batch(message.tenant_id, message.vector_store_id, request)
        batch_ids.append(batch.id)
    created = len(keys) - len(rejected)
    metrics.add_metric(name="BulkFilesCreated", unit=MetricUnit.Count, value=created)
    if rejected:
        metrics.add_metric(name="BulkFilesRejected", unit=MetricUnit.Count, value=len(rejected))
        logger.error("bulk ingest rejected objects", extra={"rejected": dict(list(rejected.items())[:50])})
    logger.info("bulk_ingest", extra={"vector_store_id": message.vector_store_id, "files": created, "batches": batch_ids})
    return {"batch_ids": batch_ids, "files": created, "rejected": sorted(rejected)}


def _copy_object(blobs: S3BlobStore, bucket: str, key: str) -> Callable[[str], int]:
    """A File's `write` for s3://bucket/key: a server-side copy into the files bucket."""
    return lambda blob_key: blobs.copy_from(blob_key, bucket, key)


def _source_keys(blobs: S3BlobStore, message: BulkIngestMessage) -> Iterator[str]:
    source = message.source
    if source.keys is not None:
        yield from source.keys
        return
    assert source.prefix is not None  # S3Source holds exactly one of prefix and keys
    paginator = blobs.client.get_paginator("list_objects_v2")  # S3BlobStore's client
    for page in paginator.paginate(Bucket=source.bucket, Prefix=source.prefix):
        for item in page.get("Contents", []):
            if not item["Key"].endswith("/"):  # "folder" placeholders
                yield item["Key"]


def _missing_keys(blobs: S3BlobStore, bucket: str, keys: list[str]) -> list[str]:
    from botocore.exceptions import ClientError

    missing: list[str] = []
    for key in keys:
        try:
            blobs.client.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            missing.append(key)
    return missing


def send_to_dlq(record: SQSRecord, reason: str) -> None:
    dlq_url = services().settings.ingest_dlq_url
    logger.error("ingest message rejected", extra={"message_id": record.message_id, "reason": reason})
    metrics.add_metric(name="MessagesRejected", unit=MetricUnit.Count, value=1)
    if not dlq_url:
        return
    import boto3

    boto3.client("sqs").send_message(
        QueueUrl=dlq_url,
        MessageBody=record.body,
        MessageAttributes={
            "reason": {"DataType": "String", "StringValue": reason[:1000]},
            "source_message_id": {"DataType": "String", "StringValue": record.message_id},
        },
    )


@logger.inject_lambda_context
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    _idempotency_config().register_lambda_context(context)
    try:
        return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    finally:
        services().usage.flush()


def dlq_record_handler(record: SQSRecord) -> None:
    """A message that died: settle its file as failed (if still in progress) and log why."""
    metrics.add_metric(name="DeadMessages", unit=MetricUnit.Count, value=1)
    attribute = record.message_attributes["reason"]
    reason = (attribute.string_value if attribute else None) or "delivery attempts exhausted"
    try:
        message = _message_adapter.validate_json(record.body)
    except ValidationError:
        logger.error("dead ingest message (malformed)", extra={"reason": reason, "body": record.body[:2000]})
        return
    if isinstance(message, IngestFileMessage):
        from ..models.vector_stores import LastError

        settled = services().catalog.finish_attachment(
            message.tenant_id,
            message.vector_store_id,
            message.file_id,
            "failed",
            0,
            LastError(code="server_error", message="The file could not be processed after repeated attempts."),
        )
        logger.error("dead ingest message", extra={"file_id": message.file_id, "settled": settled, "reason": reason})
    else:
        logger.error("dead bulk ingest message", extra={"vector_store_id": message.vector_store_id, "reason": reason, "body": json.loads(record.body)})


dlq_processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
@metrics.log_metrics
def dlq_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=dlq_record_handler, processor=dlq_processor, context=context)
