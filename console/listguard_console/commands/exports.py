"""`listguard exports download ...`: a remediation's export (or its clean list, or the clean report)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer

from ..errors import CommandError
from .common import EndpointOption, JsonOption, StackOption, emit
from .remediate import IdArgument, find, remediation_command

app = typer.Typer(
    help="A remediation's files: the export, the clean list, the clean report.", no_args_is_help=True
)


@app.command()
def download(
    remediation_id: IdArgument,
    to: Annotated[
        Path,
        typer.Option("--to", help="The file to write (or a directory to write it in).", show_default=False),
    ],
    clean: Annotated[bool, typer.Option("--clean", help="The clean list instead of the export.")] = False,
    report: Annotated[
        bool, typer.Option("--report", help="The clean report (what was removed, and why) instead.")
    ] = False,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Download exactly the version a remediation wrote: the export (default), --clean or --report."""
    from listguard.flows.remediation.export import download_name

    with remediation_command(endpoint_url, stack) as services:
        if clean and report:
            raise CommandError("give --clean or --report, not both")
        record = find(services, remediation_id)
        what = "clean" if clean else "clean-report" if report else "export"
        expected_sha256 = None
        if what == "export":
            if record.export is None:
                raise CommandError(f"remediation {record.remediation_id} has no export yet ({record.status})")
            key, version = record.export.key, record.export.version_id
            expected_sha256 = record.export.sha256
        else:
            if record.clean is None:
                raise CommandError(
                    f"remediation {record.remediation_id} has no clean list yet ({record.status}): it comes "
                    "after the delete"
                )
            key = record.clean.clean_key if clean else record.clean.report_key
            version = record.clean.clean_version_id if clean else record.clean.report_version_id
        path = to / download_name(record, what) if to.is_dir() else to
        if not path.parent.is_dir():
            raise CommandError(f"{path.parent}: no such directory")
        # Streamed to disk (ranged GETs for a large file), then checked against what the export recorded.
        try:
            services.s3.download_file(
                services.exports_bucket, key, str(path), ExtraArgs={"VersionId": version}
            )
        except OSError as error:
            raise CommandError(f"{path}: cannot write it ({error.strerror or error})") from None
        digest = _sha256(path)
        if expected_sha256 and digest != expected_sha256:
            raise CommandError(f"{path}: the download does not match the export (SHA-256 differs); try again")
    document = {
        "remediation_id": record.remediation_id,
        "what": what,
        "path": str(path),
        "bytes": path.stat().st_size,
        "sha256": digest,
        **({"export_id": record.export.export_id, "rows": record.export.rows} if record.export else {}),
    }
    emit(as_json, document, lambda c: c.print(f"wrote {path} ({document['bytes']:,} bytes, the {what})"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
