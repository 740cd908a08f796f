"""Step 2, the export: the segment's snapshot as one CSV in the exports bucket, in the customer's separator.

Every contact attribute is a column: ``email``, then the columns the contacts were imported with (in
the order first seen), then what listguard and other flows know of each contact, prefixed
``listguard.`` (flag, subscription, the import that flagged it, dates, the revision...). Written row by
row through ``listguard.csvio`` (a cell a spreadsheet would run as a formula gets a ``'`` in front)
into a multipart upload (``S3TextSink``): never a whole file in memory. A UTF-8 byte-order mark opens
the file, so that spreadsheets read its accents right.

The record keeps the export's version, size, row count and SHA-256: the delete reads exactly that
version and checks it first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from listguard.csvio import CsvWriter
from listguard.domain import keys
from listguard.domain.remediation import ExportFile, Remediation, RemediationStatus, SegmentChunk
from listguard.flows.remediation.errors import RemediationError
from listguard.flows.remediation.objects import S3TextSink, read_jsonl_gz
from listguard.flows.remediation.record import StepRef, current
from listguard.flows.remediation.services import Services

#: The column prefix of what listguard (not the customer's file) knows of a contact.
LISTGUARD_PREFIX = "listguard."
#: listguard's fields in this order first; any other field (another flow's) follows, sorted.
FIELD_ORDER = (
    "flag_status",
    "subscription_status",
    "flagged_by",
    "import_id",
    "import_etag",
    "row",
    "verdict",
    "created_at",
    "updated_at",
    "blocklisted_at",
    "blocklist_reason",
    "rev",
)
BOM = "\ufeff"


def export(services: Services, ref: StepRef) -> dict[str, Any]:
    """Write the export once; a replay (or a racing invocation) finds it recorded and keeps that one."""
    record = current(services, ref)
    if record.export is not None:
        return {"rows": record.export.rows}
    if record.status is not RemediationStatus.EXPORTING:
        raise RemediationError(f"remediation {record.remediation_id} is {record.status}, not exporting")
    layout = ExportLayout.of(record.segment_chunks)
    key = keys.export_object_key(record.account, record.remediation_id)
    rows = 0
    with S3TextSink(
        services.s3,
        services.exports_bucket,
        key,
        content_disposition=f'attachment; filename="{download_name(record, "export")}"',
        part_size=services.part_size,
    ) as sink:
        sink.write(BOM)
        writer = CsvWriter(sink, layout.header, delimiter=record.separator)
        for contact in snapshot(services, record):
            writer.write_row(layout.row(contact))
            rows += 1
    written = sink.close()
    if rows != record.count:
        raise RemediationError(
            f"the segment's snapshot holds {rows} contacts, not {record.count}: start a new remediation"
        )
    exported = ExportFile(
        export_id=keys.export_id_for(record.remediation_id),
        key=key,
        version_id=written.version_id,
        rows=rows,
        bytes=written.bytes,
        sha256=written.sha256,
        separator=record.separator,
        columns=len(layout.header),
    )
    services.remediations.transition(
        record.remediation_id,
        source={RemediationStatus.EXPORTING},
        target=RemediationStatus.EXPORTING,
        attempt=ref.attempt,
        fields={"export": exported.model_dump(mode="json")},
        condition="attribute_not_exists(#export)",
        names={"#export": "export"},
        now=services.now(),
    )
    recorded = current(services, ref).export
    return {"rows": recorded.rows if recorded else rows}


def snapshot(services: Services, record: Remediation) -> Iterator[dict[str, Any]]:
    """The segment's contacts as they were read, chunk by chunk, in order."""
    for chunk in record.segment_chunks:
        yield from read_jsonl_gz(services.s3, services.snapshot_bucket, chunk.key)


def download_name(record: Remediation, what: str) -> str:
    return f"{record.account}-{what}-{record.remediation_id}.csv"


class ExportLayout:
    """The export's columns: ``email``, the imported columns, then listguard's fields."""

    def __init__(self, attributes: Sequence[str], fields: Sequence[str]) -> None:
        self.attributes = list(attributes)
        self.fields = list(fields)
        self.header = [
            "email",
            *self.attributes,
            *(LISTGUARD_PREFIX + name for name in self.fields),
        ]

    @classmethod
    def of(cls, chunks: Iterable[SegmentChunk]) -> ExportLayout:
        attributes: dict[str, None] = {}
        fields: set[str] = set()
        for chunk in chunks:
            attributes.update(dict.fromkeys(chunk.attributes))
            fields.update(chunk.fields)
        ordered = [name for name in FIELD_ORDER if name in fields]
        return cls(list(attributes), ordered + sorted(fields - set(ordered)))

    def row(self, contact: Mapping[str, Any]) -> list[str | None]:
        imported = contact.get("attributes") or {}
        return [
            str(contact.get("email", "")),
            *(_cell(imported.get(name)) for name in self.attributes),
            *(_cell(contact.get(name)) for name in self.fields),
        ]


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)
