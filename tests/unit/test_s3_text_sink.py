"""The export's writer (no AWS: a recording S3): bytes go out a part at a time, never held whole; a small
file is one PutObject; an error aborts the upload and publishes nothing."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from listguard.flows.remediation.objects import MIN_PART_SIZE, S3TextSink


class RecordingS3:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.largest_part = 0

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("put_object", kwargs))
        return {"VersionId": "v-put"}

    def create_multipart_upload(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("create_multipart_upload", kwargs))
        return {"UploadId": "u-1"}

    def upload_part(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("upload_part", {**kwargs, "Body": len(kwargs["Body"])}))
        self.largest_part = max(self.largest_part, len(kwargs["Body"]))
        return {"ETag": f'"e{kwargs["PartNumber"]}"'}

    def complete_multipart_upload(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("complete_multipart_upload", kwargs))
        return {"VersionId": "v-multi"}

    def abort_multipart_upload(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("abort_multipart_upload", kwargs))
        return {}

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


LINE = "ann@example.com,Ann Lee,Paris,2026-10-01\r\n"


def test_a_small_file_is_one_put() -> None:
    s3 = RecordingS3()
    with S3TextSink(s3, "b", "k", content_disposition='attachment; filename="x.csv"') as sink:
        sink.write(LINE)

    assert s3.names() == ["put_object"]
    assert s3.calls[0][1]["Body"] == LINE.encode()
    assert s3.calls[0][1]["ContentDisposition"] == 'attachment; filename="x.csv"'
    written = sink.close()
    assert (written.version_id, written.bytes, written.parts) == ("v-put", len(LINE), 1)
    assert written.sha256 == hashlib.sha256(LINE.encode()).hexdigest()


def test_a_large_file_goes_out_part_by_part() -> None:
    s3 = RecordingS3()
    lines = 3 * MIN_PART_SIZE // len(LINE) + 10  # three parts and a bit

    with S3TextSink(s3, "b", "k", part_size=MIN_PART_SIZE) as sink:
        for _ in range(lines):
            sink.write(LINE)

    assert s3.names() == ["create_multipart_upload", *["upload_part"] * 4, "complete_multipart_upload"]
    # never more than a part (and a line) held at once
    assert s3.largest_part < MIN_PART_SIZE + len(LINE)
    parts = s3.calls[-1][1]["MultipartUpload"]["Parts"]
    assert [part["PartNumber"] for part in parts] == [1, 2, 3, 4]
    written = sink.close()
    assert (written.version_id, written.bytes, written.parts) == ("v-multi", lines * len(LINE), 4)
    assert written.sha256 == hashlib.sha256(LINE.encode() * lines).hexdigest()


def test_an_error_aborts_the_upload_and_publishes_nothing() -> None:
    s3 = RecordingS3()
    with pytest.raises(RuntimeError), S3TextSink(s3, "b", "k", part_size=MIN_PART_SIZE) as sink:
        sink.write("x" * MIN_PART_SIZE)
        raise RuntimeError("the snapshot could not be read")

    assert s3.names() == ["create_multipart_upload", "upload_part", "abort_multipart_upload"]
    assert sink.written is None


def test_a_part_smaller_than_s3_takes_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        S3TextSink(RecordingS3(), "b", "k", part_size=1024)
