"""Objects of the exports bucket, written and read as streams: never a whole file in memory.

``S3TextSink`` is a text file whose bytes go to one S3 object as they are written: UTF-8, buffered up
to one part; once a part fills, a multipart upload starts and every full part goes out at once, so at
most one part is held. A file smaller than a part is one PutObject. It returns the version the bucket
gave (the exports bucket is versioned) with the SHA-256 and size of what was written, so that a later
step can read exactly that version and check it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

#: S3's smallest part (but the last) is 5 MiB; 8 MiB is what the AWS CLI uses.
DEFAULT_PART_SIZE = 8 * 1024 * 1024
MIN_PART_SIZE = 5 * 1024 * 1024


@dataclass(frozen=True)
class Written:
    key: str
    version_id: str
    bytes: int
    sha256: str
    parts: int


class S3TextSink:
    """``with S3TextSink(s3, bucket, key) as out: out.write(text)``, then ``out.written``.

    On an error inside the block the multipart upload is aborted (nothing is published).
    """

    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        *,
        content_type: str = "text/csv; charset=utf-8",
        content_disposition: str | None = None,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"a part is at least {MIN_PART_SIZE} bytes (S3's minimum)")
        self._s3, self._bucket, self._key = s3, bucket, key
        self._extra = {"ContentType": content_type}
        if content_disposition:
            self._extra["ContentDisposition"] = content_disposition
        self._part_size = part_size
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._digest = hashlib.sha256()
        self._size = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self.written: Written | None = None

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self._digest.update(data)
        self._size += len(data)
        self._buffer.append(data)
        self._buffered += len(data)
        if self._buffered >= self._part_size:
            self._flush_part()
        return len(text)

    def _flush_part(self) -> None:
        body = b"".join(self._buffer)
        self._buffer, self._buffered = [], 0
        if self._upload_id is None:
            self._upload_id = self._s3.create_multipart_upload(
                Bucket=self._bucket, Key=self._key, **self._extra
            )["UploadId"]
        number = len(self._parts) + 1
        etag = self._s3.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=body
        )["ETag"]
        self._parts.append({"PartNumber": number, "ETag": etag})

    def close(self) -> Written:
        if self.written is not None:
            return self.written
        if self._upload_id is None:
            response = self._s3.put_object(
                Bucket=self._bucket, Key=self._key, Body=b"".join(self._buffer), **self._extra
            )
        else:
            if self._buffer:
                self._flush_part()
            response = self._s3.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        self.written = Written(
            key=self._key,
            version_id=str(response.get("VersionId") or "null"),
            bytes=self._size,
            sha256=self._digest.hexdigest(),
            parts=max(1, len(self._parts)),
        )
        return self.written

    def abort(self) -> None:
        if self._upload_id is not None and self.written is None:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
            self._upload_id = None

    def __enter__(self) -> S3TextSink:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def open_version(s3: Any, bucket: str, key: str, version_id: str) -> Any:
    """The body of one version of an object (a stream), or the service's NoSuchKey/NoSuchVersion error."""
    return s3.get_object(Bucket=bucket, Key=key, VersionId=version_id)["Body"]


class HashingReader(io.RawIOBase):
    """Reads through a body and hashes what it reads (SHA-256), to check an object as it streams."""

    def __init__(self, body: Any) -> None:
        self._body = body
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        self.digest.update(data)
        self.size += len(data)
        buffer[: len(data)] = data
        return len(data)


def put_jsonl_gz(s3: Any, bucket: str, key: str, items: Iterable[Mapping[str, Any]]) -> int:
    """A chunk of JSON lines, gzipped (level 1: fast, ~10x smaller); returns how many were written."""
    buffer = io.BytesIO()
    count = 0
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1, mtime=0) as gz:
        for item in items:
            gz.write(json.dumps(item, ensure_ascii=False, default=str).encode() + b"\n")
            count += 1
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue(), ContentType="application/gzip")
    return count


def read_jsonl_gz(s3: Any, bucket: str, key: str) -> Iterator[dict[str, Any]]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    with gzip.open(body, "rt", encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)
