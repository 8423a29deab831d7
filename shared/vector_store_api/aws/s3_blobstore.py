"""Blob store on S3."""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO, Iterator

if TYPE_CHECKING:  # boto3-stubs (dev extra); the Lambda runtime has only boto3
    from mypy_boto3_s3 import S3Client


class S3BlobStore:
    def __init__(self, bucket: str, client: S3Client, prefix: str = "files/"):
        self._bucket = bucket
        self.client = client
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return self._prefix + key

    def put(self, key: str, stream: BinaryIO) -> int:
        # upload_fileobj streams (multipart above 8 MB) instead of buffering the whole file; it may
        # close the stream, so the size is read from S3 afterwards.
        self.client.upload_fileobj(stream, self._bucket, self._key(key))
        return self.client.head_object(Bucket=self._bucket, Key=self._key(key))["ContentLength"]

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self._bucket, Key=self._key(key))["Body"].read()

    def iter_chunks(self, key: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self._bucket, Key=self._key(key))["Body"]
        yield from body.iter_chunks(chunk_size)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self._bucket, Key=self._key(key))

    def copy_from(self, key: str, source_bucket: str, source_key: str) -> int:
        """Server-side copy of an existing S3 object (bulk ingest); returns its size."""
        self.client.copy({"Bucket": source_bucket, "Key": source_key}, self._bucket, self._key(key))
        return self.client.head_object(Bucket=self._bucket, Key=self._key(key))["ContentLength"]
