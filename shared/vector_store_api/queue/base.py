"""The ingest queue interface (in-process locally, SQS on AWS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence


@dataclass(frozen=True)
class IngestJob:
    """Ingest one attached file: parse, chunk, embed, index."""

    tenant_id: str
    vector_store_id: str
    file_id: str


class IngestQueue(Protocol):
    def enqueue(self, jobs: Sequence[IngestJob]) -> None: ...
