"""The export's writer on moto's S3: a file over one part is a multipart upload of a versioned bucket,
read back byte for byte at its version."""

from __future__ import annotations

import hashlib

from remediation_cloud import EXPORTS, RemediationCloud

from listguard.flows.remediation.objects import MIN_PART_SIZE, S3TextSink


def test_a_file_over_a_part_is_uploaded_in_parts_and_read_back_at_its_version(
    remediation: RemediationCloud,
) -> None:
    line = "person@example.com;Person;Lyon;2026-10-01\r\n"
    lines = 2 * MIN_PART_SIZE // len(line) + 100

    with S3TextSink(
        remediation.s3, EXPORTS, "remediations/acme/x/export.csv", part_size=MIN_PART_SIZE
    ) as sink:
        for _ in range(lines):
            sink.write(line)
    written = sink.close()
    remediation.s3.put_object(Bucket=EXPORTS, Key="remediations/acme/x/export.csv", Body=b"overwritten")

    assert written.parts == 3
    body = remediation.read_bytes("remediations/acme/x/export.csv", written.version_id)
    assert len(body) == written.bytes == lines * len(line)
    assert hashlib.sha256(body).hexdigest() == written.sha256
