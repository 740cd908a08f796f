"""Step 4, the clean: the exported contacts less the invalid and the unengaged ones.

The contacts come from the snapshot the export was written from (checked equal to it before the
delete), as they are: the export's cells carry the formula guard (a ``'`` in front of ``=1+1@x``), the
snapshot the addresses themselves. They stream through the verification engine (``email`` and the
imported columns, the account's blocklist): every contact whose verdict is not ``valid`` is removed,
with the verdict as its reason. Then an address that starts with a formula character is removed (the
clean list writes it with a ``'`` in front, which would be another address once reimported), and
then the unengaged (``engagement.py``: the rule, the attribute names).

Out come two CSVs in the exports bucket, in the customer's separator, through ``listguard.csvio``:
the clean list (``email`` and the imported columns: what an import file holds) and the report (one
row per removed contact: ``email``, ``reason``, ``detail``).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, deque
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from listguard.csvio import FORMULA_STARTS, CsvWriter
from listguard.domain import keys
from listguard.domain.remediation import CleanResult, Remediation, RemediationStatus
from listguard.flows.remediation.engagement import Engagement, unengaged
from listguard.flows.remediation.errors import RemediationError
from listguard.flows.remediation.export import BOM, LISTGUARD_PREFIX, ExportLayout, download_name, snapshot
from listguard.flows.remediation.objects import S3TextSink
from listguard.flows.remediation.record import StepRef, current
from listguard.flows.remediation.services import Services
from listguard.verification import Policy, Verdict, Verification

FORMULA_ADDRESS = "formula_address"
REPORT_COLUMNS = ("email", "reason", "detail")
#: The engine reads the snapshot, not an upload: no upload limit applies to it.
_NO_SIZE_LIMIT = 1 << 62


def clean(services: Services, ref: StepRef) -> dict[str, Any]:
    """Write the clean list and its report once; a replay finds them recorded."""
    record = current(services, ref)
    if record.clean is not None:
        return {"kept": record.clean.kept}
    if record.status is not RemediationStatus.CLEANING:
        raise RemediationError(f"remediation {record.remediation_id} is {record.status}, not cleaning")
    layout = ExportLayout.of(record.segment_chunks)
    as_of = datetime.fromisoformat(record.requested_at)
    pending: deque[dict[str, Any]] = deque()
    verification = Verification(
        io.BufferedReader(_EngineFeed(_engine_rows(snapshot(services, record), layout, pending)), 1 << 20),
        policy=Policy().model_copy(update={"max_file_bytes": _NO_SIZE_LIMIT}),
        # The export's own addresses are looked up, not the account's whole blocklist.
        blocklist_lookup=lambda found: services.contacts.blocklisted_among(record.account, found),
    )
    removed: Counter[str] = Counter()
    kept = 0
    clean_key = keys.clean_list_key(record.account, record.remediation_id)
    report_key = keys.clean_report_key(record.account, record.remediation_id)
    with (
        _sink(services, record, clean_key, "clean") as clean_sink,
        _sink(services, record, report_key, "clean-report") as report_sink,
    ):
        clean_sink.write(BOM)
        report_sink.write(BOM)
        clean_list = CsvWriter(clean_sink, ["email", *layout.attributes], delimiter=record.separator)
        report = CsvWriter(report_sink, REPORT_COLUMNS, delimiter=record.separator)
        for batch in verification.batches():
            for result in batch:
                contact = pending.popleft()
                reason, detail = _why_removed(result.verdict, result.reason, contact, layout, as_of)
                if reason is None:
                    clean_list.write_row(layout.row(contact)[: 1 + len(layout.attributes)])
                    kept += 1
                else:
                    report.write_row((contact.get("email", ""), reason, detail))
                    removed[reason] += 1
    if pending:
        raise RemediationError(
            f"remediation {record.remediation_id}: the engine skipped contacts of the export"
        )
    cleaned = CleanResult(
        kept=kept,
        removed=dict(sorted(removed.items())),
        clean_key=clean_key,
        clean_version_id=clean_sink.close().version_id,
        report_key=report_key,
        report_version_id=report_sink.close().version_id,
    )
    services.remediations.transition(
        record.remediation_id,
        source={RemediationStatus.CLEANING},
        target=RemediationStatus.FINISHING,
        attempt=ref.attempt,
        fields={"clean": cleaned.model_dump(mode="json"), "cleaned_at": services.now()},
        now=services.now(),
    )
    recorded = current(services, ref).clean
    return {"kept": recorded.kept if recorded else kept}


def _why_removed(
    verdict: Verdict, engine_reason: str, contact: dict[str, Any], layout: ExportLayout, as_of: datetime
) -> tuple[str | None, str]:
    if verdict is not Verdict.VALID:
        return str(verdict), engine_reason
    if str(contact.get("email", "")).strip().startswith(FORMULA_STARTS):
        return (
            FORMULA_ADDRESS,
            "a spreadsheet would run it as a formula; written safely it is another address",
        )
    columns = [*(contact.get("attributes") or {}).items()]
    columns += [(LISTGUARD_PREFIX + name, contact.get(name)) for name in layout.fields]
    finding = unengaged(Engagement.of(columns), as_of)
    if finding is not None:
        return str(finding.reason), finding.detail
    return None, ""


def _sink(services: Services, record: Remediation, key: str, what: str) -> S3TextSink:
    return S3TextSink(
        services.s3,
        services.exports_bucket,
        key,
        content_disposition=f'attachment; filename="{download_name(record, what)}"',
        part_size=services.part_size,
    )


def _engine_rows(
    contacts: Iterator[dict[str, Any]], layout: ExportLayout, pending: deque[dict[str, Any]]
) -> Iterator[bytes]:
    """The contacts as a plain CSV for the engine (the values themselves: no formula guard); each one
    waits in ``pending`` until the engine's verdict on it comes back, in order."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(["email", *layout.attributes])
    for contact in contacts:
        imported = contact.get("attributes") or {}
        writer.writerow([contact.get("email", ""), *(imported.get(name, "") for name in layout.attributes)])
        pending.append(contact)
        if text.tell() > 1 << 16:
            yield text.getvalue().encode()
            text.seek(0)
            text.truncate()
    yield text.getvalue().encode()


class _EngineFeed(io.RawIOBase):
    """A byte stream over generated blocks (what ``Verification`` reads)."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._current = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current:
            self._current = next(self._blocks, b"")
            if not self._current:
                return 0
        size = min(len(buffer), len(self._current))
        buffer[:size] = self._current[:size]
        self._current = self._current[size:]
        return size
