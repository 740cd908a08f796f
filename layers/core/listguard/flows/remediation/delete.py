"""Step 3b, the delete: exactly the exported contacts, once the export is checked.

``verify_export`` reads the exported version whole (a stream) beside the snapshot it was written from:
its SHA-256 and size are the ones recorded when it was written, and its rows are the snapshot's
contacts, one for one, in order (address and revision). Any difference, or no export at all, and
nothing is deleted: the remediation fails with the reason.

``delete`` then works through the snapshot a chunk per invocation (the state machine loops). Each
contact is deleted only if it is still exactly as exported (its revision), declined and subscribed, in
one transaction with its tombstone; a contact that changed since is left, and counted. Every
invocation first checks that the export's version still exists. A retried chunk finds its own
tombstones and counts each contact once.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter
from typing import Any

from botocore.exceptions import ClientError

from listguard.csvio import neutralise
from listguard.domain.remediation import DeleteTally, ExportFile, Remediation, RemediationStatus
from listguard.flows.remediation.errors import ExportMismatchError, ExportMissingError, RemediationError
from listguard.flows.remediation.export import LISTGUARD_PREFIX
from listguard.flows.remediation.objects import HashingReader, open_version, read_jsonl_gz
from listguard.flows.remediation.record import StepRef, current
from listguard.flows.remediation.services import Services
from listguard.stores import DeleteOutcome, ExportedContact

MISSING = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound", "InvalidArgument"})
REASON = "declined contact deleted by remediation {remediation_id} after its export {export_id} was confirmed"


def verify_export(services: Services, ref: StepRef) -> dict[str, Any]:
    """Check the export holds exactly the contacts about to be deleted (before the first delete)."""
    record = _deleting(services, ref)
    if record is None or record.export_verified_at:
        return {"verified": True}
    export = _export_of(record)
    body = _open(services, record.remediation_id, export)
    reader = HashingReader(body)
    text = io.TextIOWrapper(io.BufferedReader(reader, 1 << 20), encoding="utf-8-sig", newline="")
    rows = csv.reader(text, delimiter=export.separator)
    header = next(rows, [])
    revision = header.index(LISTGUARD_PREFIX + "rev") if LISTGUARD_PREFIX + "rev" in header else None
    mismatch = ExportMismatchError(
        f"the export {export.export_id} does not hold exactly the {export.rows:,} contacts to delete; "
        "nothing was deleted: start a new remediation"
    )
    snapshot = itertools.chain.from_iterable(
        read_jsonl_gz(services.s3, services.snapshot_bucket, chunk.key) for chunk in record.segment_chunks
    )
    count = 0
    for contact, row in itertools.zip_longest(snapshot, rows):
        if contact is None or row is None or not _same(contact, row, revision):
            raise mismatch
        count += 1
    text.read()  # the rest (nothing, in a well-formed file) counts in the digest
    if (
        count != export.rows
        or count != record.confirmed_count
        or reader.size != export.bytes
        or reader.digest.hexdigest() != export.sha256
    ):
        raise mismatch
    services.remediations.transition(
        record.remediation_id,
        source={RemediationStatus.DELETING},
        target=RemediationStatus.DELETING,
        attempt=ref.attempt,
        fields={"export_verified_at": services.now()},
        now=services.now(),
    )
    return {"verified": True}


def delete(services: Services, ref: StepRef) -> dict[str, Any]:
    """Delete the next chunk of exported contacts; ``more``: the state machine calls again."""
    record = _deleting(services, ref)
    if record is None:
        return {"more": False}
    if not record.export_verified_at:
        raise RemediationError(
            f"remediation {record.remediation_id}: the export was not checked; nothing deleted"
        )
    export = _export_of(record)
    _still_there(services, record.remediation_id, export)
    tally = record.deleted
    index = tally.next_chunk
    outcomes: Counter[DeleteOutcome] = Counter()
    if index < len(record.segment_chunks):
        exported = [
            ExportedContact(str(c["email_key"]), None if c.get("rev") is None else int(c["rev"]))
            for c in read_jsonl_gz(services.s3, services.snapshot_bucket, record.segment_chunks[index].key)
        ]
        outcomes.update(
            services.tombstones.delete_contacts(
                record.account,
                exported,
                remediation_id=record.remediation_id,
                reason=REASON.format(remediation_id=record.remediation_id, export_id=export.export_id),
                deleted_on=services.clock().date().isoformat(),
                threads=services.delete_threads,
            )
        )
    after = DeleteTally(
        next_chunk=index + 1,
        deleted=tally.deleted + outcomes[DeleteOutcome.DELETED],
        left_changed=tally.left_changed + outcomes[DeleteOutcome.LEFT_CHANGED],
        already_gone=tally.already_gone + outcomes[DeleteOutcome.ALREADY_GONE],
    )
    complete = after.next_chunk >= len(record.segment_chunks)
    services.remediations.record_delete_chunk(
        record.remediation_id,
        account=record.account,
        attempt=ref.attempt,
        tally=after,
        deleted_in_chunk=outcomes[DeleteOutcome.DELETED],
        complete=complete,
        now=services.now(),
    )
    # Recorded by this invocation, or by another one that deleted the same chunk: the record says.
    return {"more": current(services, ref).status is RemediationStatus.DELETING}


def _same(contact: dict[str, Any], row: list[str], revision: int | None) -> bool:
    """The export's row is this contact, as the export wrote it (address, and revision)."""
    if not row or row[0] != neutralise(str(contact.get("email", ""))):
        return False
    if revision is None:
        return True
    return len(row) > revision and row[revision] == neutralise(str(contact.get("rev", "")))


def _deleting(services: Services, ref: StepRef) -> Remediation | None:
    """The record while it is deleting; None once it is past (a replay). Never before a confirmation."""
    record = current(services, ref)
    if record.status is RemediationStatus.DELETING and record.confirmed_count is not None:
        return record
    if record.status.rank > RemediationStatus.DELETING.rank and not record.status.final:
        return None
    raise RemediationError(
        f"remediation {record.remediation_id} is {record.status}: nothing is deleted without a confirmation"
    )


def _export_of(record: Remediation) -> ExportFile:
    if record.export is None:
        raise ExportMissingError(f"remediation {record.remediation_id} has no export: nothing was deleted")
    return record.export


def _open(services: Services, remediation_id: str, export: ExportFile) -> Any:
    try:
        return open_version(services.s3, services.exports_bucket, export.key, export.version_id)
    except ClientError as error:
        if error.response["Error"]["Code"] in MISSING:
            raise _missing(remediation_id, export) from None
        raise


def _still_there(services: Services, remediation_id: str, export: ExportFile) -> None:
    try:
        services.s3.head_object(Bucket=services.exports_bucket, Key=export.key, VersionId=export.version_id)
    except ClientError as error:
        if error.response["Error"]["Code"] in MISSING:
            raise _missing(remediation_id, export) from None
        raise


def _missing(remediation_id: str, export: ExportFile) -> ExportMissingError:
    return ExportMissingError(
        f"the export {export.export_id} of remediation {remediation_id} is gone: nothing more is deleted "
        "without it; start a new remediation"
    )
