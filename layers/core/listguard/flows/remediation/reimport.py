"""Step 5, the reimport, and step 6, the requeue mark: what follows a clean list.

The clean list goes back through the import flow as a new import, ``clean-<remediation id>``, only when
the customer attested consent: it is copied (server side) to ``imports/<account>/clean-<id>.csv`` in the
imports bucket, and from there it is an import like any other (the check, the customer's answer, the
outcome). Without the attestation the clean list waits in the exports bucket, ready to download.

A remediation started for an interrupted campaign then marks that campaign for requeue
(``stores/requeue_marks.py``); the campaigns flow reads the mark.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from listguard.domain import keys
from listguard.domain.remediation import Remediation, RemediationStatus
from listguard.flows.remediation.errors import RemediationError
from listguard.flows.remediation.record import StepRef, current
from listguard.flows.remediation.services import Services
from listguard.stores.requeue_marks import mark_for_requeue

NO_CONSENT = "no consent attested: the clean list is ready to download"
NOTHING_LEFT = "nothing left to import: every contact was removed"


def reimport(services: Services, ref: StepRef) -> dict[str, Any]:
    record = _finishing(services, ref)
    if record is None or record.reimport_import_id or record.reimport_skipped:
        return {"import_id": record.reimport_import_id if record else None}
    assert record.clean is not None
    if not record.consent_attested or not record.clean.kept:
        _record(services, ref, {"reimport_skipped": NOTHING_LEFT if record.consent_attested else NO_CONSENT})
        return {"import_id": None}
    file_name = keys.reimport_file_name(record.remediation_id)
    key = keys.import_object_key(record.account, file_name)
    if not _exists(services.s3, services.imports_bucket, key):  # copied by an earlier attempt: not again
        services.s3.copy_object(
            Bucket=services.imports_bucket,
            Key=key,
            CopySource={
                "Bucket": services.exports_bucket,
                "Key": record.clean.clean_key,
                "VersionId": record.clean.clean_version_id,
            },
            ContentType="text/csv; charset=utf-8",
            MetadataDirective="REPLACE",
        )
    import_id = keys.import_id_for(file_name)
    _record(services, ref, {"reimport_import_id": import_id})
    return {"import_id": import_id}


def requeue(services: Services, ref: StepRef) -> dict[str, Any]:
    record = _finishing(services, ref)
    if record is None or record.requeue or not record.campaign_id:
        return {"requeue": record.requeue if record else None}
    marked = mark_for_requeue(
        services.table,
        record.account,
        record.campaign_id,
        remediation_id=record.remediation_id,
        # The same moment whenever the step runs again: a repeated mark writes the same values.
        at=record.cleaned_at or record.requested_at,
    )
    outcome = "marked" if marked else "campaign_missing"
    _record(services, ref, {"requeue": outcome})
    return {"requeue": outcome}


def _finishing(services: Services, ref: StepRef) -> Remediation | None:
    record = current(services, ref)
    if record.status is RemediationStatus.FINISHING and record.clean is not None:
        return record
    if record.status is RemediationStatus.DONE:
        return None
    raise RemediationError(f"remediation {record.remediation_id} is {record.status}, not finishing")


def _record(services: Services, ref: StepRef, fields: dict[str, Any]) -> None:
    services.remediations.transition(
        ref.remediation_id,
        source={RemediationStatus.FINISHING},
        target=RemediationStatus.FINISHING,
        attempt=ref.attempt,
        fields=fields,
        now=services.now(),
    )


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise
    return True
