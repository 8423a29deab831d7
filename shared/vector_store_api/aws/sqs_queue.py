"""The ingest queue on SQS: one `ingest_file` message per file, sent in batches of ten."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Sequence

from ..queue.base import IngestJob
from .messages import MESSAGE_VERSION

if TYPE_CHECKING:  # boto3-stubs (dev extra); the Lambda runtime has only boto3
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

SQS_BATCH_LIMIT = 10


def ingest_file_body(job: IngestJob) -> str:
    return json.dumps(
        {
            "version": MESSAGE_VERSION,
            "type": "ingest_file",
            "tenant_id": job.tenant_id,
            "vector_store_id": job.vector_store_id,
            "file_id": job.file_id,
        }
    )


class SqsIngestQueue:
    def __init__(self, queue_url: str, client: SQSClient):
        self._url = queue_url
        self._client = client

    def enqueue(self, jobs: Sequence[IngestJob]) -> None:
        for start in range(0, len(jobs), SQS_BATCH_LIMIT):
            batch = jobs[start : start + SQS_BATCH_LIMIT]
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "MessageBody": ingest_file_body(job)} for i, job in enumerate(batch)
            ]
            self._send(entries)

    def _send(self, entries: list[SendMessageBatchRequestEntryTypeDef], attempts: int = 3) -> None:
        for _ in range(attempts):
            failed = self._client.send_message_batch(QueueUrl=self._url, Entries=entries).get("Failed", [])
            if not failed:
                return
            retry_ids = {f["Id"] for f in failed if not f.get("SenderFault")}
            if len(retry_ids) != len(failed):
                raise RuntimeError(f"SQS rejected ingest messages: {failed}")
            entries = [e for e in entries if e["Id"] in retry_ids]
        raise RuntimeError(f"SQS kept failing to accept {len(entries)} ingest messages")
