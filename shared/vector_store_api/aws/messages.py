"""The ingest queue's messages: a documented, versioned JSON contract any producer may use.

`ingest_file` (written by the API): ingest one attached file.
    {"version": 1, "type": "ingest_file", "tenant_id": "...", "vector_store_id": "vs_...", "file_id": "file-..."}

`bulk_ingest` (written by scripts, S3 notifications, other services): load S3 objects into a store.
    {"version": 1, "type": "bulk_ingest", "tenant_id": "...", "vector_store_id": "vs_...",
     "source": {"bucket": "my-bucket", "prefix": "handbooks/2026/"}          # a whole prefix, or
     "source": {"bucket": "my-bucket", "keys": ["a.pdf", "b/c.docx"]},       # a list of objects
     "attributes": {"team": "hr"}, "chunking_strategy": {"type": "static", "static": {...}},
     "purpose": "assistants", "idempotency_key": "optional, defaults to the SQS message id"}
The worker creates one File per object and a file batch for them (poll it with the SDK), then
fans out one `ingest_file` message per file.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, StrictStr, model_validator

from ..models.common import Attributes, ChunkingStrategyParam, RequestModel
from ..models.vector_stores import MAX_BATCH_FILES

MESSAGE_VERSION = 1


class IngestFileMessage(RequestModel):
    version: Literal[1]
    type: Literal["ingest_file"]
    tenant_id: StrictStr
    vector_store_id: StrictStr
    file_id: StrictStr


class S3Source(RequestModel):
    bucket: StrictStr = Field(min_length=3)
    prefix: StrictStr | None = None
    keys: list[StrictStr] | None = Field(default=None, min_length=1, max_length=MAX_BATCH_FILES)

    @model_validator(mode="after")
    def _prefix_or_keys(self) -> "S3Source":
        if (self.prefix is None) == (self.keys is None):
            raise ValueError("source needs exactly one of 'prefix' or 'keys'")
        return self


class BulkIngestMessage(RequestModel):
    version: Literal[1]
    type: Literal["bulk_ingest"]
    tenant_id: StrictStr
    vector_store_id: StrictStr
    source: S3Source
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategyParam | None = None
    purpose: Literal["assistants", "user_data"] = "assistants"
    idempotency_key: StrictStr | None = None


IngestMessage = Annotated[Union[IngestFileMessage, BulkIngestMessage], Field(discriminator="type")]
