"""The import lifecycle after the check: the customer continues or cancels, the contacts are written,
the outcome is told, an operator decides on imports in review.

The import state machine (infra/statemachines/import.asl.json) calls one step per state; the customer
and the operators act through the actions below (the console calls them). Every step and action is
one conditional transition of the import record (``ImportStore.transition``), so each is safe to
repeat and safe to race: a replay finds the record moved on and changes nothing, and of two answers
at once only one lands. A waiting state holds a Step Functions task token in the record; an action
that lands sends the token, and the state machine goes on.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from listguard.domain import keys
from listguard.domain.models import ImportRecord
from listguard.domain.standing import StandingPolicy
from listguard.domain.vocabulary import AccountStanding, EventType, FlagStatus, ImportStatus
from listguard.flows.imports.commit import put_json
from listguard.flows.imports.stream import chunk_name, decode_contacts
from listguard.notify import Notifier
from listguard.stores import AccountStore, ContactStore, ContactWrite, ImportStamp, ImportStore, utc_now_iso

logger = Logger(child=True)

#: The support team's questions for an import in review.
REVIEW_QUESTIONS = (
    "Where does this list come from (your own sign-up form, an event, a purchase, a partner)?",
    "How did these contacts give their consent to receive your emails, and when?",
    "When did you last send an email to this list?",
)
ANSWER_FIELDS = ("source", "consent", "last_mailed")


class ImportSupersededError(Exception):
    """A newer file took the import over: this execution's steps stop (the state machine catches it)."""


class AccountBusyError(Exception):
    """Another import of the account is writing its contacts: the state machine waits and retries."""


class ChunksMissingError(Exception):
    """A chunk of the import's contacts is not written yet: the state machine retries the finish."""


class LifecycleError(Exception):
    """An action that cannot be taken now; the message says why and what to do (the console's error)."""


@dataclass(frozen=True)
class ImportRef:
    """The import a step works on: the state machine's input carries it."""

    account: str
    import_id: str
    etag: str

    @classmethod
    def of(cls, payload: dict[str, Any]) -> ImportRef:
        return cls(account=payload["account"], import_id=payload["import_id"], etag=payload["etag"])

    def event_key(self, event_type: EventType) -> str:
        return f"import:{self.account}:{self.import_id}:{self.etag}:{event_type}"


@dataclass(frozen=True)
class Lifecycle:
    s3: Any
    sfn: Any
    bucket: str
    imports: ImportStore
    contacts: ContactStore
    accounts: AccountStore
    notifier: Notifier
    standing_policy: StandingPolicy
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    #: For the message that invites a smaller list: fewer new contacts than this need no check.
    check_min_new_contacts: int = 1_000
    check_min_share_of_list: float = 0.25

    # -- steps of the state machine -------------------------------------------------------------------

    def await_confirmation(self, ref: ImportRef, token: str, timeout_seconds: int) -> None:
        """The check is required: hold the import for the customer and tell them why."""
        deadline = (self.clock() + timedelta(seconds=timeout_seconds)).isoformat(timespec="seconds")
        moved = self.imports.transition(
            ref.account,
            ref.import_id,
            etag=ref.etag,
            source={ImportStatus.VERIFYING, ImportStatus.AWAITING_CONFIRMATION},
            target=ImportStatus.AWAITING_CONFIRMATION,
            fields={"task_token": token, "confirmation_deadline": deadline},
            condition="attribute_not_exists(confirmed_at)",
        )
        record = self._record(ref)
        if not moved:
            if record.status is ImportStatus.VERIFYING and record.confirmed_at:
                self._send(token, {"decision": "continue"})  # confirmed before this step ran again
                return
            if record.status is ImportStatus.CANCELLED:
                self._send(token, {"decision": "cancel"})
                return
            raise ImportSupersededError(ref.import_id)
        self.notifier.notify(
            ref.account,
            EventType.CHECK_REQUIRED,
            ref.event_key(EventType.CHECK_REQUIRED),
            {
                "import_id": ref.import_id,
                "rows": record.rows or 0,
                "new_contacts": record.new_contacts or 0,
                "existing_contacts": record.existing_contacts or 0,
                "rule": _check_rule(record, self.check_min_new_contacts, self.check_min_share_of_list),
                "reasons": record.reasons,
                "smaller_than": self.check_min_new_contacts,
                "deadline": deadline,
            },
        )

    def confirmation_timed_out(self, ref: ImportRef) -> dict[str, str]:
        """No answer before the deadline: cancel, unless the customer's answer landed meanwhile."""
        cancelled = self.imports.transition(
            ref.account,
            ref.import_id,
            etag=ref.etag,
            source={ImportStatus.AWAITING_CONFIRMATION},
            target=ImportStatus.CANCELLED,
            fields={"cancelled_reason": "no answer before the deadline"},
            remove=("task_token",),
        )
        record = self._record(ref)
        if cancelled or record.status is ImportStatus.CANCELLED:
            self._tell_cancelled(ref, record)
            return {"decision": "cancel"}
        if record.status is ImportStatus.VERIFYING:
            return {"decision": "continue"}
        raise ImportSupersededError(ref.import_id)

    def apply_chunk(self, ref: ImportRef, chunk: int, *, lease_seconds: int) -> dict[str, int]:
        """Write one chunk of the import's contacts, once each, with the flag the check decided.

        Idempotent, and safe beside the other chunks of the import (they share the account's lane, and
        each contact is in exactly one chunk). ``AccountBusyError`` while another import of the account
        holds the lane: the state machine waits and tries again.
        """
        record = self._record(ref)
        holder = record.execution_name
        if record.status is not ImportStatus.VERIFYING or record.flag_status is None or not holder:
            raise ImportSupersededError(ref.import_id)
        if not self.accounts.acquire_lane(ref.account, holder, lease_seconds=lease_seconds, now=self.clock()):
            raise AccountBusyError(ref.account)
        stamp = ImportStamp(ref.account, ref.import_id, ref.etag, record.flag_status, utc_now_iso())
        tally = self.contacts.merge_import(stamp, self._spooled(ref, chunk))
        if not self.imports.record_chunk(
            ref.account,
            ref.import_id,
            etag=ref.etag,
            chunk=chunk,
            written=tally.written,
            created=tally.created,
        ):
            raise ImportSupersededError(ref.import_id)
        return {"chunk": chunk, "contacts_written": tally.written}

    def finish(self, ref: ImportRef) -> dict[str, str]:
        """Every chunk is written: the new contacts are counted once, the import rests at its decided
        status, and the customer is told. ``ChunksMissingError`` if a chunk has not been written (the
        Map state's children are checked here, not trusted)."""
        record = self._record(ref)
        target = record.decided_status or ImportStatus.IMPORTED
        if record.status is ImportStatus.VERIFYING:
            missing = set(range(record.chunks or 0)) - {int(c) for c in record.chunk_written}
            if missing:
                raise ChunksMissingError(
                    f"chunks {sorted(missing)} of import {ref.import_id} are not written"
                )
            created = sum(int(n) for n in record.chunk_created.values())
            self.imports.commit_created(ref.account, ref.import_id, etag=ref.etag, created=created)
            self.accounts.release_lane(ref.account, record.execution_name or "")
        contacts_written = sum(int(n) for n in record.chunk_written.values())
        fields: dict[str, Any] = {
            "contacts_written": contacts_written,
            "contact_count_after": self.accounts.get(ref.account).contact_count,
            "finished_at": utc_now_iso(),
        }
        if target is ImportStatus.IN_REVIEW:
            entered = utc_now_iso()
            fields |= {
                "entered_review_at": entered,
                "gsi1pk": keys.REVIEW_QUEUE_PK,
                "gsi1sk": keys.review_queue_sk(entered, ref.account, ref.import_id),
            }
        moved = self.imports.transition(
            ref.account,
            ref.import_id,
            etag=ref.etag,
            source={ImportStatus.VERIFYING},
            target=target,
            fields=fields,
        )
        record = self._record(ref)
        if not moved and record.status is not target:
            raise ImportSupersededError(ref.import_id)
        self._publish_summary(record)
        if target is ImportStatus.VALIDATED:
            self._tell(ref, EventType.IMPORT_VALIDATED, {"contacts": contacts_written})
        elif target is ImportStatus.DECLINED:
            self._tell(
                ref, EventType.IMPORT_DECLINED, {"contacts": contacts_written, "reasons": record.reasons}
            )
            self._count_decline(ref)
        return {"status": str(target)}

    def await_review(self, ref: ImportRef, token: str) -> None:
        """An operator decides: hold the token, and ask the customer the support team's questions."""
        moved = self.imports.transition(
            ref.account,
            ref.import_id,
            etag=ref.etag,
            source={ImportStatus.IN_REVIEW},
            target=ImportStatus.IN_REVIEW,
            fields={"task_token": token},
            condition="attribute_not_exists(review_decision)",
        )
        record = self._record(ref)
        if not moved:
            if record.status is ImportStatus.IN_REVIEW and record.review_decision:
                self._send(token, _decision_output(record))  # decided before this step ran again
                return
            raise ImportSupersededError(ref.import_id)
        self._tell(
            ref,
            EventType.IMPORT_IN_REVIEW,
            {
                "contacts": record.contacts_written or 0,
                "reasons": [record.review_reason] if record.review_reason else record.reasons,
                "questions": list(REVIEW_QUESTIONS),
            },
        )

    def apply_review(self, ref: ImportRef, decision: str, note: str) -> dict[str, str]:
        """The operator's decision reaches the contacts the import flagged (pending -> none or declined)."""
        validate = decision == "validate"
        target_flag = FlagStatus.NONE if validate else FlagStatus.DECLINED
        record = self._record(ref)
        if record.status is ImportStatus.IN_REVIEW:
            self.contacts.resolve_review(ref.account, ref.import_id, target_flag, now=utc_now_iso())
        target = ImportStatus.VALIDATED if validate else ImportStatus.DECLINED
        moved = self.imports.transition(
            ref.account,
            ref.import_id,
            etag=ref.etag,
            source={ImportStatus.IN_REVIEW},
            target=target,
            fields={"flag_status": str(target_flag)},
            remove=("task_token", "gsi1pk", "gsi1sk"),
        )
        record = self._record(ref)
        if not moved and record.status is not target:
            raise ImportSupersededError(ref.import_id)
        self._publish_summary(record)
        event_type = EventType.REVIEW_VALIDATED if validate else EventType.REVIEW_DECLINED
        self._tell(ref, event_type, {"note": note})
        if not validate:
            self._count_decline(ref)
        return {"status": str(target)}

    def fail(self, ref: ImportRef, error: str) -> None:
        """A step failed after its retries: the import is ``failed`` and the customer is told. The
        contacts already written keep the flag the check decided (never a sendable one it did not)."""
        reason = (
            f"a step of the import failed after its retries ({error}); upload the same file again to retry"
        )
        moved = self.imports.transition(
            ref.account,
            ref.import_id,
            etag=ref.etag,
            source={ImportStatus.VERIFYING, ImportStatus.AWAITING_CONFIRMATION, ImportStatus.IN_REVIEW},
            target=ImportStatus.FAILED,
            fields={"error": reason},
            remove=("task_token", "gsi1pk", "gsi1sk"),
        )
        record = self.imports.get(ref.account, ref.import_id)
        if record is not None and record.execution_name:
            self.accounts.release_lane(ref.account, record.execution_name)
        if moved or (record is not None and record.etag == ref.etag and record.status is ImportStatus.FAILED):
            self._tell(ref, EventType.IMPORT_FAILED, {"reason": reason})

    # -- actions: the customer and the operators ----------------------------------------------------

    def confirm(self, account: str, import_id: str) -> ImportRecord:
        """The customer continues: the check's outcome is applied. Continuing twice is fine."""
        record = self._record_of(account, import_id)
        if record.confirmed_at and record.status is not ImportStatus.CANCELLED:
            return record
        return self._answer(
            account, import_id, "continue", ImportStatus.VERIFYING, {"confirmed_at": utc_now_iso()}
        )

    def cancel(self, account: str, import_id: str) -> ImportRecord:
        """The customer cancels: nothing is imported. Cancelling twice is fine."""
        record = self._record_of(account, import_id)
        if record.status is ImportStatus.CANCELLED:
            return record
        return self._answer(
            account, import_id, "cancel", ImportStatus.CANCELLED, {"cancelled_reason": "you cancelled it"}
        )

    def _answer(
        self, account: str, import_id: str, decision: str, target: ImportStatus, fields: dict[str, Any]
    ) -> ImportRecord:
        """The customer's answer lands (one of two answers at once), then the waiting state hears it."""
        record = self._awaiting(account, import_id)
        token = self.imports.task_token(account, import_id)
        moved = self.imports.transition(
            account,
            import_id,
            etag=record.etag or "",
            source={ImportStatus.AWAITING_CONFIRMATION},
            target=target,
            fields=fields,
            remove=("task_token",),
        )
        if not moved:
            return self._answered(account, import_id, target)
        if target is ImportStatus.CANCELLED:
            ref = ImportRef(account, import_id, record.etag or "")
            self._tell_cancelled(ref, self._record(ref))
        if token:
            self._send(token, {"decision": decision})
        return self._record_of(account, import_id)

    def answer(self, account: str, import_id: str, answers: dict[str, str]) -> ImportRecord:
        """The customer's answers to the support team's questions, recorded on the import."""
        unknown = set(answers) - set(ANSWER_FIELDS)
        if unknown:
            raise LifecycleError(f"unknown answer {sorted(unknown)}: answer {', '.join(ANSWER_FIELDS)}")
        if not self.imports.record_answers(account, import_id, answers):
            raise LifecycleError(f"import {import_id} is not in review: there is nothing to answer")
        return self._record_of(account, import_id)

    def decide_review(
        self, account: str, import_id: str, *, validate: bool, note: str, operator: str
    ) -> ImportRecord:
        """An operator validates or declines an import in review."""
        decision = "validate" if validate else "decline"
        record = self._record_of(account, import_id)
        if record.status is not ImportStatus.IN_REVIEW:
            raise LifecycleError(
                f"import {import_id} is {record.status}, not in review: there is nothing to decide"
            )
        moved = self.imports.transition(
            account,
            import_id,
            etag=record.etag or "",
            source={ImportStatus.IN_REVIEW},
            target=ImportStatus.IN_REVIEW,
            fields={
                "review_decision": decision,
                "review_note": note,
                "reviewed_by": operator,
                "reviewed_at": utc_now_iso(),
            },
            condition="attribute_not_exists(review_decision) OR review_decision = :decision",
            values={":decision": decision},
        )
        if not moved:
            record = self._record_of(account, import_id)
            raise LifecycleError(
                f"import {import_id} was already decided ({record.review_decision} by {record.reviewed_by})"
            )
        record = self._record_of(account, import_id)
        token = self.imports.task_token(account, import_id)
        if token:  # otherwise the state machine is not waiting yet: its review step sends the decision
            self._send(token, _decision_output(record))
        return record

    # -- plumbing -------------------------------------------------------------------------------------

    def _count_decline(self, ref: ImportRef) -> None:
        change = self.accounts.record_decline(
            ref.account,
            ref.import_id,
            declined_at=self.clock().isoformat(),
            now=self.clock(),
            policy=self.standing_policy,
        )
        if change.changed and change.after is not AccountStanding.GOOD:
            suspended = change.after is AccountStanding.SUSPENDED
            self.notifier.notify(
                ref.account,
                EventType.STANDING_CHANGED,
                f"standing:{ref.account}:{ref.import_id}:{change.after}",
                {
                    "standing": str(change.after),
                    "standing_label": "suspended" if suspended else "under review",
                    "why": f"{change.recent_declines} imports were declined within "
                    f"{self.standing_policy.decline_window_days} days",
                    "consequence": "New imports are rejected until an operator reinstates the account."
                    if suspended
                    else "Each new import is held until an operator reviews it.",
                },
            )

    def _tell(self, ref: ImportRef, event_type: EventType, data: dict[str, Any]) -> None:
        self.notifier.notify(
            ref.account, event_type, ref.event_key(event_type), {"import_id": ref.import_id, **data}
        )

    def _tell_cancelled(self, ref: ImportRef, record: ImportRecord) -> None:
        self._tell(
            ref,
            EventType.IMPORT_CANCELLED,
            {"why": record.cancelled_reason or "cancelled", "smaller_than": self.check_min_new_contacts},
        )

    def _spooled(self, ref: ImportRef, chunk: int) -> Iterator[ContactWrite]:
        key = keys.spool_prefix(ref.account, ref.import_id, ref.etag) + chunk_name(chunk)
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        with gzip.open(body, "rt", encoding="utf-8") as lines:
            yield from decode_contacts(lines)

    def _publish_summary(self, record: ImportRecord) -> None:
        """The JSON summary says where the import now rests."""
        if not record.summary_key:
            return
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=record.summary_key)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] not in {"NoSuchKey", "404"}:
                raise  # throttled or refused: the step's retry brings the summary up to date
            return
        document = json.loads(body)
        document["status"] = str(record.status)
        put_json(self.s3, self.bucket, record.summary_key, document)

    def _send(self, token: str, output: dict[str, Any]) -> None:
        try:
            self.sfn.send_task_success(taskToken=token, output=json.dumps(output))
        except ClientError as error:
            # The state machine stopped waiting (timed out, or a newer file): the record already says
            # what happened, and the timeout step reads it.
            if error.response["Error"]["Code"] not in {"InvalidToken", "TaskTimedOut", "TaskDoesNotExist"}:
                raise
            logger.warning(
                "the state machine was no longer waiting", extra={"code": error.response["Error"]["Code"]}
            )

    def _record(self, ref: ImportRef) -> ImportRecord:
        record = self.imports.get(ref.account, ref.import_id)
        if record is None or record.etag != ref.etag:
            raise ImportSupersededError(ref.import_id)
        return record

    def _record_of(self, account: str, import_id: str) -> ImportRecord:
        record = self.imports.get(account, import_id)
        if record is None:
            raise LifecycleError(
                f"no import {import_id} in account {account}: `listguard imports list` shows them"
            )
        return record

    def _awaiting(self, account: str, import_id: str) -> ImportRecord:
        record = self._record_of(account, import_id)
        if record.status is ImportStatus.AWAITING_CONFIRMATION:
            return record
        if record.status in (ImportStatus.RECEIVED, ImportStatus.VERIFYING) and not record.confirmed_at:
            raise LifecycleError(f"import {import_id} is still being checked: try again in a moment")
        raise LifecycleError(f"import {import_id} is {record.status}: it is not waiting for your answer")

    def _answered(self, account: str, import_id: str, wanted: ImportStatus) -> ImportRecord:
        """Two answers at once: the same answer again is fine, the other one is refused."""
        record = self._record_of(account, import_id)
        if record.status is wanted or (wanted is ImportStatus.VERIFYING and record.confirmed_at):
            return record
        raise LifecycleError(
            f"import {import_id} is {record.status}: it is no longer waiting for your answer"
        )


def _decision_output(record: ImportRecord) -> dict[str, str]:
    return {"decision": record.review_decision or "", "note": record.review_note or ""}


def _check_rule(record: ImportRecord, minimum: int, share: float) -> str:
    return (
        f"a verification check is required from {minimum:,} new contacts that are at least {share:.0%} of "
        f"the current list; this import has {record.new_contacts or 0:,} new contacts for a list of "
        f"{record.existing_contacts or 0:,}"
    )


def lifecycle_from_settings() -> Lifecycle:
    """The lifecycle of the deployed function: its table, bucket, topic and sender."""
    from listguard.aws import aws_clients
    from listguard.config import import_steps_settings
    from listguard.stores import Table
    from listguard.verification import Policy

    settings = import_steps_settings()
    clients = aws_clients()
    table = Table(clients.dynamodb, settings.table_name)
    contacts = ContactStore(table)
    accounts = AccountStore(table, contacts)
    policy = Policy()
    return Lifecycle(
        s3=clients.s3,
        sfn=clients.sfn,
        bucket=settings.imports_bucket,
        imports=ImportStore(table),
        contacts=contacts,
        accounts=accounts,
        notifier=Notifier.on(
            table,
            sesv2=clients.sesv2,
            sns=clients.sns,
            topic_arn=settings.flag_topic_arn,
            sender=settings.notification_sender,
        ),
        standing_policy=StandingPolicy(),
        check_min_new_contacts=policy.check_min_new_contacts,
        check_min_share_of_list=policy.check_min_share_of_list,
    )
