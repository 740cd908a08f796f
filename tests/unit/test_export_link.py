"""The export's download link (no AWS: signing is local): exactly the exported version, as a download,
for as long as the stack says, signed with SigV4. moto does not check a link's expiry: its parameters are
checked here."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.config import Config

from listguard.domain.remediation import ExportFile
from listguard.flows.remediation.confirm import download_link

EXPORT = ExportFile(
    export_id="exp-0",
    key="remediations/acme/rem-0/export.csv",
    version_id="v-42",
    rows=3,
    bytes=100,
    sha256="0" * 64,
    separator=",",
    columns=5,
)


def test_the_link_names_the_exported_version_and_expires() -> None:
    s3 = boto3.client(
        "s3",
        region_name="eu-west-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(signature_version="s3v4"),
    )

    link = download_link(s3, "exports-bucket", EXPORT, seconds=43_200, filename="acme-export.csv")

    url = urlsplit(link)
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert url.scheme == "https"
    assert "exports-bucket" in url.netloc + url.path and url.path.endswith(
        "/remediations/acme/rem-0/export.csv"
    )
    assert query["versionId"] == "v-42"
    assert query["X-Amz-Expires"] == "43200"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["response-content-disposition"] == 'attachment; filename="acme-export.csv"'
    assert query["X-Amz-Credential"].startswith("AKIDEXAMPLE/")
