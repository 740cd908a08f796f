"""A remediation from start to end: the customer's actions (start, retry) and the steps that open and
close an execution (begin, finish, fail). The stages between are in their own modules.

Starting is idempotent per account and request: the remediation id (and its first execution's name)
comes from both, the record is created once, and Step Functions answers a second StartExecution with
the same name and input with the same execution. A failed remediation keeps everything it did; a
retry is its next attempt, a new execution that skips what is done and resumes where it stopped.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from listguard.csvio import DELIMITERS
from listguard.domain import keys
from listguard.domain.remediation import Remediation, RemediationStatus
from listguard.domain.vocabulary import EventType, FlagStatus, SubscriptionStatus
from listguard.flows.remediation.errors import RemediationError
from listguard.flows.remediation.record import StepRef, current, event_key
from listguard.flows.remediation.reimport import NO_CONSENT
from listguard.flows.remediation.services import Services
from listguard.stores.requeue_marks import campaign_exists, check_campaign_id

SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
#: An execution in one of these states runs no step any more.
ENDED_WITHOUT_FINISHING = frozenset({"FAILED", "ABORTED", "TIMED_OUT"})


def start(
    services: Services,
    account: str,
    *,
    request_id: str,
    separator: str = ",",
    campaign_id: str | None = None,
    consent_attested: bool = False,
) -> Remediation:
    """Start remediating the account's declined contacts (or find the remediation of this request)."""
    keys.check_account_id(account)
    if separator not in DELIMITERS:
        raise RemediationError(f"separator {separator!r} is not supported: use one of , ; | or a tab ('\\t')")
    if campaign_id is not None:
        check_campaign_id(campaign_id)
    remediation_id = keys.remediation_id_for(account, request_id)
    existing = services.remediations.get(remediation_id)
    if existing is None:
        if campaign_id is not None and not campaign_exists(services.table, account, campaign_id):
            raise RemediationError(
                f"no campaign {campaign_id} in account {account}: --campaign names a campaign to requeue"
            )
        if not any(
            services.contacts.list(
                account, flag=FlagStatus.DECLINED, subscription=SubscriptionStatus.SUBSCRIBED, limit=1
            )
        ):
            raise RemediationError(
                f"account {account} has no declined contact that is subscribed: there is nothing to remediate"
            )
        record = Remediation(
            remediation_id=remediation_id,
            account=account,
            request_id=request_id,
            status=RemediationStatus.STARTED,
            execution_name=keys.remediation_execution_name(remediation_id, 1),
            separator=separator,
            campaign_id=campaign_id,
            consent_attested=consent_attested,
            requested_at=services.now(),
        )
        services.remediations.create(record)
        existing = services.remediations.get(remediation_id)
        assert existing is not None
    wanted = (separator, campaign_id, consent_attested)
    if (existing.separator, existing.campaign_id, existing.consent_attested) != wanted:
        raise RemediationError(
            f"remediation {remediation_id} was started for this request with other options: "
            "give another --request-id to start another one"
        )
    if existing.status is RemediationStatus.STARTED:
        _start_execution(services, existing)  # again: the same execution (it may not have started)
    return existing


def retry(services: Services, remediation_id: str) -> Remediation:
    """A failed remediation's next attempt: a new execution resumes where the failed one stopped."""
    record = _get(services, remediation_id)
    if record.status is RemediationStatus.STARTED:
        _start_execution(services, record)  # its execution may never have started
        return record
    if record.status is RemediationStatus.FAILED:
        resume = record.resume_status or RemediationStatus.STARTED
    elif record.status.final:
        raise RemediationError(f"remediation {remediation_id} is {record.status}: there is nothing to retry")
    elif execution_status(services, record) in ENDED_WITHOUT_FINISHING:
        resume = record.status  # its execution ended without saying so (aborted, say): resume right here
    else:
        return record  # running (a retry landed already)
    attempt = record.attempt + 1
    services.remediations.transition(
        remediation_id,
        source={record.status},
        target=resume,
        attempt=record.attempt,
        fields={
            "attempt": attempt,
            "execution_name": keys.remediation_execution_name(remediation_id, attempt),
        },
        remove=("error", "resume_status", "finished_at"),
        now=services.now(),
    )
    record = _get(services, remediation_id)
    if record.attempt == attempt:  # this retry landed, or another one for the same attempt did
        _start_execution(services, record)
    return record


def begin(services: Services, ref: StepRef) -> dict[str, Any]:
    """The execution's first step: the record is under way, and the state machine learns its options."""
    services.remediations.transition(
        ref.remediation_id,
        source={RemediationStatus.STARTED},
        target=RemediationStatus.SEGMENTING,
        attempt=ref.attempt,
        now=services.now(),
    )
    record = current(services, ref)
    return {
        "confirmation_timeout_seconds": services.confirmation_timeout_seconds,
        "consent_attested": record.consent_attested,
        "campaign": record.campaign_id is not None,
    }


def finish(services: Services, ref: StepRef) -> dict[str, Any]:
    """Done: the account's list size is counted again, and the customer is told what happened."""
    services.remediations.transition(
        ref.remediation_id,
        source={RemediationStatus.FINISHING},
        target=RemediationStatus.DONE,
        attempt=ref.attempt,
        fields={"finished_at": services.now()},
        remove=("task_token",),
        condition="attribute_exists(clean)",
        now=services.now(),
    )
    record = current(services, ref)
    if record.status is not RemediationStatus.DONE or record.clean is None:
        raise RemediationError(f"remediation {record.remediation_id} is {record.status}, not finished")
    deleted = record.deleted
    services.notifier.notify(
        record.account,
        EventType.REMEDIATION_FINISHED,
        event_key(record.remediation_id, str(EventType.REMEDIATION_FINISHED)),
        {
            "remediation_id": record.remediation_id,
            "deleted": deleted.deleted,
            "left_changed": deleted.left_changed,
            "already_gone": deleted.already_gone,
            "kept": record.clean.kept,
            "removed": record.clean.removed,
            "removed_lines": removed_lines(record.clean.removed),
            "reimport_import_id": record.reimport_import_id or "",
            "reimport_skipped": record.reimport_skipped or ("" if record.consent_attested else NO_CONSENT),
            "campaign_id": record.campaign_id or "",
            "requeue": record.requeue or "",
        },
    )
    return {"status": str(record.status)}


def fail(services: Services, ref: StepRef, error: str, cause: str) -> None:
    """A step failed after its retries: the record says so (keeping all it did), the customer is told."""
    record = services.remediations.get(ref.remediation_id)
    if record is None or record.attempt != ref.attempt:
        return  # a newer attempt owns the remediation
    reason = failure_reason(record, error, cause)
    if not record.status.final:
        services.remediations.transition(
            ref.remediation_id,
            source={status for status in RemediationStatus if not status.final},
            target=RemediationStatus.FAILED,
            attempt=ref.attempt,
            fields={"error": reason, "resume_status": str(record.status), "finished_at": services.now()},
            remove=("task_token",),
            now=services.now(),
        )
        record = _get(services, ref.remediation_id)
    if record.status is RemediationStatus.FAILED and record.attempt == ref.attempt:
        services.notifier.notify(
            record.account,
            EventType.REMEDIATION_FAILED,
            event_key(record.remediation_id, f"{EventType.REMEDIATION_FAILED}:{record.attempt}"),
            {"remediation_id": record.remediation_id, "reason": record.error or reason},
        )


#: What the clean step's reasons mean, in the customer's words.
REMOVED_LABELS = {
    "invalid_syntax": "not a valid address",
    "malformed_row": "a row that could not be read",
    "duplicate": "a duplicate",
    "blocklisted": "blocklisted (unsubscribed, complained or bounced)",
    "disposable": "a disposable address",
    "role_account": "a role account (info@, sales@, ...)",
    "typo_domain": "a typo in the domain",
    "invalid_domain": "a domain that receives no email",
    "missing_consent": "no opt-in recorded",
    "formula_address": "an address a spreadsheet would run as a formula",
    "no_open_6_months": "no open in 6 months",
    "no_click_12_months": "no click in 12 months",
    "stale_consent": "consent older than 2 years, and no email, open or click since",
}


def removed_lines(removed: dict[str, int]) -> list[str]:
    if not removed:
        return ["nothing: every contact is valid and engaged"]
    return [f"{count:,} {REMOVED_LABELS.get(reason, reason)} ({reason})" for reason, count in removed.items()]


def failure_reason(record: Remediation, error: str, cause: str) -> str:
    """One line: where it stopped and why, never a contact's data. listguard's own errors say what to do;
    of any other error only its type is told (its text may quote data)."""
    where = f"it stopped while {record.status}"
    message = ""
    try:
        message = str(json.loads(cause).get("errorMessage", "")) if cause else ""
    except (ValueError, AttributeError):
        message = ""
    if error in {"RemediationError", "ExportMissingError", "ExportMismatchError"} and message:
        return f"{where}: {' '.join(message.split())}"
    return f"{where} ({error or 'unknown error'}); nothing is lost: retry it"


def describe(record: Remediation, execution_status: str | None = None) -> dict[str, Any]:
    """A remediation as the console shows it (``remediate show --json``)."""
    export = record.export
    document: dict[str, Any] = {
        "remediation_id": record.remediation_id,
        "execution_id": record.execution_name,
        "account": record.account,
        "request_id": record.request_id,
        "status": str(record.status),
        "step": step_of(record),
        "awaiting": record.awaiting,
        "count": record.count,
        "export": None
        if export is None
        else {
            "export_id": export.export_id,
            "key": export.key,
            "version_id": export.version_id,
            "rows": export.rows,
            "bytes": export.bytes,
            "sha256": export.sha256,
            "separator": SEPARATOR_NAMES.get(export.separator, export.separator),
            "link_expires_at": record.link_expires_at,
        },
        "confirmation_deadline": record.confirmation_deadline,
        "confirmed_count": record.confirmed_count,
        "deleted": record.deleted.model_dump(exclude={"next_chunk"})
        if record.status.rank > RemediationStatus.AWAITING_CONFIRMATION.rank
        else None,
        "clean": None if record.clean is None else record.clean.model_dump(),
        "reimport": {
            "consent_attested": record.consent_attested,
            "import_id": record.reimport_import_id,
            "skipped": record.reimport_skipped
            or (NO_CONSENT if not record.consent_attested and record.clean else None),
        },
        "campaign": None
        if record.campaign_id is None
        else {"id": record.campaign_id, "requeue": record.requeue},
        "attempt": record.attempt,
        "requested_at": record.requested_at,
        "finished_at": record.finished_at,
        "error": record.error,
    }
    if execution_status is not None:
        document["execution_status"] = execution_status
    return document


_STEPS = {
    RemediationStatus.STARTED: "segment",
    RemediationStatus.SEGMENTING: "segment",
    RemediationStatus.EXPORTING: "export",
    RemediationStatus.AWAITING_CONFIRMATION: "confirm_delete",
    RemediationStatus.DELETING: "delete",
    RemediationStatus.CLEANING: "clean",
    RemediationStatus.FINISHING: "reimport",
    RemediationStatus.DONE: "done",
    RemediationStatus.NOTHING_TO_DO: "done",
    RemediationStatus.TIMED_OUT: "confirm_delete",
}


def step_of(record: Remediation) -> str:
    """The step the remediation is at (a failed one: the step it stopped at)."""
    if record.status is RemediationStatus.FAILED:
        return _STEPS.get(record.resume_status or RemediationStatus.STARTED, "segment")
    return _STEPS[record.status]


def execution_arn(state_machine_arn: str, execution_name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + execution_name


def execution_status(services: Services, record: Remediation) -> str | None:
    """RUNNING, SUCCEEDED, FAILED, ... of the remediation's current execution (None when unknown)."""
    if not services.state_machine_arn:
        return None
    try:
        described = services.sfn.describe_execution(
            executionArn=execution_arn(services.state_machine_arn, record.execution_name)
        )
    except ClientError:
        return None
    return str(described["status"])


def _start_execution(services: Services, record: Remediation) -> None:
    """Idempotent: the same name and input while it runs is the same execution; once it ended, Step
    Functions refuses the name, which means it was started already."""
    if not services.state_machine_arn:
        raise RemediationError("the stack has no remediation state machine: deploy the current template")
    ref = StepRef(record.remediation_id, record.attempt)
    try:
        services.sfn.start_execution(
            stateMachineArn=services.state_machine_arn,
            name=record.execution_name,
            input=json.dumps(ref.execution_input(record.account), sort_keys=True),
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise


def _get(services: Services, remediation_id: str) -> Remediation:
    record = services.remediations.get(keys.check_remediation_id(remediation_id))
    if record is None:
        raise RemediationError(f"no remediation {remediation_id}: `listguard remediate start` prints the id")
    return record
