"""Where raw uploaded bytes live (local disk now, S3 on AWS)."""

from __future__ import annotations

from typing import BinaryIO, Iterator, Protocol


class BlobStore(Protocol):
    def put(self, key: str, stream: BinaryIO) -> int:
        """Store the stream under key; return the number of bytes written."""

    def get(self, key: str) -> bytes: ...

    def iter_chunks(self, key: str, chunk_size: int = 1 << 20) -> Iterator[bytes]: ...

    def delete(self, key: str) -> None:
        """Delete the key; a missing key is not an error."""
