"""Step 3a, the confirmation: the export is announced, and nothing is deleted until the customer types
the number of contacts it holds.

The waiting state holds a Step Functions task token in the record. The customer's
``listguard remediate confirm-delete ID --count N`` (``confirm_delete``) checks the number: a wrong one
changes nothing and can be tried again; the right one moves the record to ``deleting`` and sends the
token. No answer before the deadline: the wait times out and nothing is deleted, unless the
customer's answer landed meanwhile (the timeout step reads the record). Both sides are one
conditional transition each, so an answer racing the timeout lands once, one way or the other.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from listguard.domain.remediation import ExportFile, Remediation, RemediationStatus
from listguard.domain.vocabulary import EventType
from listguard.flows.remediation.errors import RemediationError, RemediationSupersededError
from listguard.flows.remediation.export import download_name
from listguard.flows.remediation.record import StepRef, current, event_key
from listguard.flows.remediation.services import Services

logger = Logger(child=True)

#: What Step Functions answers when the execution no longer waits on a token: the record already
#: says what happened, and the timeout step reads it.
NOT_WAITING = frozenset({"InvalidToken", "TaskTimedOut", "TaskDoesNotExist"})


def download_link(s3: Any, bucket: str, export: ExportFile, *, seconds: int, filename: str) -> str:
    """An expiring link to exactly the exported version (SigV4: at most 7 days)."""
    link: str = s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket,
            "Key": export.key,
            "VersionId": export.version_id,
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
        },
        ExpiresIn=seconds,
    )
    return link


def await_confirmation(services: Services, ref: StepRef, token: str) -> None:
    """Hold the token in the record, announce the export (link, count, how to confirm), and wait."""
    record = current(services, ref)
    if _confirmed(record):
        send_token(services.sfn, token, {"confirmed_count": record.confirmed_count})  # a replay
        return
    if record.export is None:
        raise RemediationError(f"remediation {record.remediation_id} has no export to announce")
    now = services.clock()
    deadline = (now + timedelta(seconds=services.confirmation_timeout_seconds)).isoformat(timespec="seconds")
    link_expires = (now + timedelta(seconds=services.link_seconds)).isoformat(timespec="seconds")
    moved = services.remediations.transition(
        record.remediation_id,
        source={RemediationStatus.EXPORTING, RemediationStatus.AWAITING_CONFIRMATION},
        target=RemediationStatus.AWAITING_CONFIRMATION,
        attempt=ref.attempt,
        fields={"task_token": token, "confirmation_deadline": deadline, "link_expires_at": link_expires},
        now=services.now(),
    )
    if not moved:
        record = current(services, ref)
        if _confirmed(record):  # confirmed between the read and the write
            send_token(services.sfn, token, {"confirmed_count": record.confirmed_count})
            return
        raise RemediationSupersededError(f"remediation {record.remediation_id} is {record.status}")
    export = record.export
    services.notifier.notify(
        record.account,
        EventType.EXPORT_READY,
        event_key(record.remediation_id, str(EventType.EXPORT_READY)),
        {
            "remediation_id": record.remediation_id,
            "export_id": export.export_id,
            "count": export.rows,
            "link": download_link(
                services.presigner or services.s3,
                services.exports_bucket,
                export,
                seconds=services.link_seconds,
                filename=download_name(record, "export"),
            ),
            "link_expires_at": link_expires,
            "deadline": deadline,
        },
    )


def confirmation_timed_out(services: Services, ref: StepRef) -> dict[str, str]:
    """No answer before the deadline: stop without deleting, unless the answer landed meanwhile."""
    timed_out = services.remediations.transition(
        ref.remediation_id,
        source={RemediationStatus.AWAITING_CONFIRMATION},
        target=RemediationStatus.TIMED_OUT,
        attempt=ref.attempt,
        fields={"finished_at": services.now()},
        remove=("task_token",),
        now=services.now(),
    )
    record = current(services, ref)
    if timed_out or record.status is RemediationStatus.TIMED_OUT:
        services.notifier.notify(
            record.account,
            EventType.REMEDIATION_TIMED_OUT,
            event_key(record.remediation_id, str(EventType.REMEDIATION_TIMED_OUT)),
            {
                "remediation_id": record.remediation_id,
                "count": record.count or 0,
                "deadline": record.confirmation_deadline or "",
            },
        )
        return {"decision": "stop"}
    if _confirmed(record):
        return {"decision": "delete"}
    raise RemediationSupersededError(f"remediation {record.remediation_id} is {record.status}")


def confirm_delete(services: Services, remediation_id: str, count: int) -> Remediation:
    """The customer types the number of contacts to delete. The wrong number changes nothing."""
    record = _record(services, remediation_id)
    if record.confirmed_count is not None and record.status is not RemediationStatus.FAILED:
        if count != record.confirmed_count:
            raise RemediationError(
                f"remediation {remediation_id} was confirmed already, for {record.confirmed_count:,} contacts"
            )
        _resend(services, record)  # the same answer again (the first one's reply may have been lost)
        return record
    if record.status is not RemediationStatus.AWAITING_CONFIRMATION:
        raise RemediationError(_not_waiting(record))
    if count != record.count:
        raise RemediationError(
            f"{count:,} is not the number of contacts to delete: the export holds {record.count or 0:,}; "
            f"nothing was deleted. Type that number to confirm: "
            f"listguard remediate confirm-delete {remediation_id} --count {record.count or 0}"
        )
    moved = services.remediations.transition(
        remediation_id,
        source={RemediationStatus.AWAITING_CONFIRMATION},
        target=RemediationStatus.DELETING,
        fields={"confirmed_count": count, "confirmed_at": services.now()},
        now=services.now(),
    )
    record = _record(services, remediation_id)
    if not moved and record.confirmed_count != count:
        raise RemediationError(_not_waiting(record))
    _resend(services, record)
    return record


def send_token(sfn: Any, token: str, output: dict[str, Any]) -> None:
    try:
        sfn.send_task_success(taskToken=token, output=json.dumps(output))
    except ClientError as error:
        if error.response["Error"]["Code"] not in NOT_WAITING:
            raise
        logger.warning(
            "the state machine was no longer waiting", extra={"code": error.response["Error"]["Code"]}
        )


def _resend(services: Services, record: Remediation) -> None:
    token = services.remediations.raw(record.remediation_id, "task_token").get("task_token")
    if token and record.status is RemediationStatus.DELETING:
        send_token(services.sfn, token, {"confirmed_count": record.confirmed_count})


def _confirmed(record: Remediation) -> bool:
    """The customer confirmed: the record is deleting, or past it (a retried execution comes back here)."""
    if record.status is RemediationStatus.DELETING:
        return record.confirmed_count is not None
    return record.status.rank > RemediationStatus.DELETING.rank and not record.status.final


def _record(services: Services, remediation_id: str) -> Remediation:
    record = services.remediations.get(remediation_id)
    if record is None:
        raise RemediationError(f"no remediation {remediation_id}: `listguard remediate start` prints the id")
    return record


def _not_waiting(record: Remediation) -> str:
    rid, status = record.remediation_id, record.status
    if status.rank < RemediationStatus.AWAITING_CONFIRMATION.rank:
        return f"remediation {rid} is still exporting: confirm once the export is announced"
    if status is RemediationStatus.TIMED_OUT:
        return (
            f"remediation {rid} timed out at {record.confirmation_deadline}: nothing was deleted; "
            "start a new remediation to delete these contacts"
        )
    if status is RemediationStatus.FAILED:
        return f"remediation {rid} failed ({record.error}): retry it with `listguard remediate retry {rid}`"
    if status is RemediationStatus.NOTHING_TO_DO:
        return f"remediation {rid} found no declined contact to delete"
    return f"remediation {rid} is {status}: it is not waiting for a confirmation"
