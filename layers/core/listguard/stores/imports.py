"""Import records (``ACCOUNT#<account>`` / ``IMPORT#<import id>``): one per import, claimed per file.

The record is the idempotency key of the check: import id + the file's ETag. A claim is a conditional
write, so a replayed S3 event, the same file uploaded again, or two deliveries at once start one check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from listguard.domain import keys
from listguard.domain.models import ImportRecord
from listguard.domain.vocabulary import ImportStatus
from listguard.stores.accounts import contact_count_change
from listguard.stores.dynamo import ConditionFailedError, Item, Table, TransactionConflictError

#: What a check and the lifecycle after it record. A new file (another ETag) removes them all when it
#: claims the import, so the record never shows the previous file's results.
RESULT_FIELDS = (
    "outcome",
    "error",
    "finished_at",
    "verification_required",
    "rows",
    "new_contacts",
    "existing_contacts",
    "contacts_written",
    "flag_status",
    "verdicts",
    "predicted_bounce_rate",
    "reasons",
    "summary_key",
    "rows_report_key",
    "contact_count_after",
    "contacts_created",
    "chunk_written",
    "chunk_created",
    "decided_status",
    "needs_confirmation",
    "review_reason",
    "chunks",
    "execution_name",
    "confirmation_deadline",
    "confirmed_at",
    "cancelled_reason",
    "entered_review_at",
    "review_decision",
    "review_note",
    "reviewed_by",
    "reviewed_at",
    "answers",
    "task_token",
    "gsi1pk",
    "gsi1sk",
)


def utc_now_iso(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Claim:
    """A successful claim of an import: the record as it was before (None for a new import)."""

    previous: Item | None

    def resumes(self, etag: str) -> bool:
        """True when an earlier attempt at the same file was started (and may have written contacts)."""
        return self.previous is not None and self.previous.get("etag") == etag

    def pinned_existing_contacts(self, etag: str) -> int | None:
        """The list size an earlier attempt at this file measured the check against, if any."""
        pinned = (self.previous or {}).get("pinned") or {}
        if self.resumes(etag) and pinned.get("etag") == etag:
            return int(pinned["existing_contacts"])
        return None


class ImportStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, account: str, import_id: str) -> ImportRecord | None:
        item = self._table.get(_key(account, import_id))
        return ImportRecord.model_validate(item) if item else None

    def list(self, account: str, *, limit: int | None = None) -> Iterator[ImportRecord]:
        for item in self._table.query(
            "pk = :pk AND begins_with(sk, :prefix)",
            {":pk": keys.account_pk(account), ":prefix": keys.IMPORT_SK_PREFIX},
            consistent=True,
            limit=limit,
        ):
            yield ImportRecord.model_validate(item)

    def claim(
        self,
        account: str,
        import_id: str,
        *,
        etag: str,
        claimant: str,
        source_key: str,
        lease_seconds: int,
        now: datetime | None = None,
    ) -> Claim | None:
        """Start the check of one file, once. None when this file's check is done or running elsewhere.

        The conditional write succeeds when:
        - the import is new, or its file has new content (another ETag: a new upload is a new check);
        - or the same file's check was started by this claimant (Lambda retries an async invocation
          with the same request id, so a retry after a crash resumes; every write is idempotent);
        - or the same file's check was started and its lease ran out (it crashed for good);
        - or the same file's check failed for good (every retry failed): uploading it again retries;
        - or this claimant's check had handed the import to the state machine when it crashed (a retry
          starts the same execution again, which is idempotent).
        """
        moment = now or datetime.now(UTC)
        try:
            previous = self._table.update(
                _key(account, import_id),
                update=(
                    "SET #type = :type, account = :account, import_id = :import_id, #status = :received, "
                    "etag = :etag, source_key = :source_key, claimed_by = :claimant, "
                    "lease_expires_at = :lease, received_at = :now_iso, updated_at = :now_iso "
                    f"REMOVE {', '.join(f'#r{i}' for i in range(len(RESULT_FIELDS)))}"
                ),
                condition=(
                    "attribute_not_exists(sk) OR etag <> :etag OR #status = :failed OR "
                    "(#status = :received AND (claimed_by = :claimant OR lease_expires_at < :now)) OR "
                    "(#status = :verifying AND claimed_by = :claimant AND attribute_not_exists(task_token))"
                ),
                names={
                    "#type": "type",
                    "#status": "status",
                    **{f"#r{i}": name for i, name in enumerate(RESULT_FIELDS)},
                },
                values={
                    ":type": "import",
                    ":account": account,
                    ":import_id": import_id,
                    ":received": str(ImportStatus.RECEIVED),
                    ":failed": str(ImportStatus.FAILED),
                    ":verifying": str(ImportStatus.VERIFYING),
                    ":etag": etag,
                    ":source_key": source_key,
                    ":claimant": claimant,
                    ":lease": int(moment.timestamp()) + lease_seconds,
                    ":now": int(moment.timestamp()),
                    ":now_iso": utc_now_iso(moment),
                },
                returns="ALL_OLD",
            )
        except ConditionFailedError:
            return None
        return Claim(previous=previous or None)

    def pin_existing_contacts(
        self, account: str, import_id: str, *, etag: str, existing_contacts: int
    ) -> None:
        """Pin the list size the check is measured against, so a resumed check decides exactly as the
        first attempt would have. Pinned with the file's ETag, apart from the results: a claim removes
        those, and a crash between a new file's claim and this pin must not let its retry use the
        previous file's figure."""
        self._table.update(
            _key(account, import_id),
            update="SET pinned = :pinned",
            values={":pinned": {"etag": etag, "existing_contacts": existing_contacts}},
        )

    def owns(self, account: str, import_id: str, *, etag: str, claimant: str) -> bool:
        """Whether this claimant's check of this file still holds the import (a newer upload takes it)."""
        item = self._table.get(_key(account, import_id), projection=("etag", "claimed_by"))
        return item is not None and item.get("etag") == etag and item.get("claimed_by") == claimant

    def finish(
        self,
        account: str,
        import_id: str,
        *,
        etag: str,
        claimant: str,
        status: ImportStatus,
        fields: Mapping[str, Any],
    ) -> bool:
        """Record the end of a check (the commit point). False when a newer upload took the import over."""
        if unknown := set(fields) - set(RESULT_FIELDS):
            raise ValueError(f"not a result field (add it to RESULT_FIELDS): {sorted(unknown)}")
        names = {f"#{name}": name for name in fields}
        assignments = "".join(f", #{name} = :{name}" for name in fields)
        try:
            self._table.update(
                _key(account, import_id),
                update="SET #status = :status, finished_at = :finished_at, "
                f"updated_at = :finished_at{assignments} REMOVE lease_expires_at",
                condition="etag = :etag AND claimed_by = :claimant AND #status IN (:received, :verifying)",
                names={"#status": "status", **names},
                values={
                    ":status": str(status),
                    ":finished_at": utc_now_iso(),
                    ":etag": etag,
                    ":claimant": claimant,
                    ":received": str(ImportStatus.RECEIVED),
                    ":verifying": str(ImportStatus.VERIFYING),
                    **{f":{name}": value for name, value in fields.items()},
                },
            )
        except ConditionFailedError:
            return False
        return True

    def transition(
        self,
        account: str,
        import_id: str,
        *,
        etag: str,
        source: Iterable[ImportStatus],
        target: ImportStatus,
        fields: Mapping[str, Any] | None = None,
        remove: Iterable[str] = (),
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> bool:
        """Move this file's import from one of ``source`` to ``target`` (setting ``fields``); False when
        it is elsewhere (a replay, a race lost, or a newer file). Every step of the lifecycle is one."""
        fields = dict(fields or {})
        sources = sorted({str(status) for status in source})
        names = {"#status": "status", **{f"#f{i}": name for i, name in enumerate(fields)}}
        names |= {f"#r{i}": name for i, name in enumerate(remove)}
        assignments = "".join(f", #f{i} = :f{i}" for i in range(len(fields)))
        removal = f" REMOVE {', '.join(f'#r{i}' for i in range(len(list(remove))))}" if remove else ""
        try:
            self._table.update(
                _key(account, import_id),
                update=f"SET #status = :target, updated_at = :now{assignments}{removal}",
                condition=f"etag = :etag AND #status IN ({', '.join(f':s{i}' for i in range(len(sources)))})"
                + (f" AND ({condition})" if condition else ""),
                names=names,
                values={
                    ":target": str(target),
                    ":now": utc_now_iso(),
                    ":etag": etag,
                    **{f":s{i}": status for i, status in enumerate(sources)},
                    **{f":f{i}": value for i, value in enumerate(fields.values())},
                    **(values or {}),
                },
            )
        except ConditionFailedError:
            return False
        return True

    def task_token(self, account: str, import_id: str) -> str | None:
        """The token the import's state machine waits on (the customer's or the operator's answer)."""
        item = self._table.get(_key(account, import_id), projection=("task_token",))
        return (item or {}).get("task_token")

    def review_queue(self, *, limit: int | None = None) -> Iterator[ImportRecord]:
        """Imports waiting for an operator, oldest first, across accounts (gsi1, sparse)."""
        for item in self._table.query(
            "gsi1pk = :pk", {":pk": keys.REVIEW_QUEUE_PK}, index="gsi1", limit=limit
        ):
            yield ImportRecord.model_validate(item)

    def record_answers(self, account: str, import_id: str, answers: Mapping[str, str]) -> bool:
        """The customer's answers to the review questions (merged into earlier ones)."""
        record = self.get(account, import_id)
        if record is None or record.status is not ImportStatus.IN_REVIEW:
            return False
        merged = {**record.answers, **answers}
        try:
            self._table.update(
                _key(account, import_id),
                update="SET answers = :answers, updated_at = :now",
                condition="#status = :in_review AND etag = :etag",
                names={"#status": "status"},
                values={
                    ":answers": merged,
                    ":now": utc_now_iso(),
                    ":in_review": str(ImportStatus.IN_REVIEW),
                    ":etag": record.etag,
                },
            )
        except ConditionFailedError:
            return False
        return True

    def record_chunk(
        self, account: str, import_id: str, *, etag: str, chunk: int, written: int, created: int
    ) -> bool:
        """One chunk of the import's contacts is written (idempotent: a retried chunk sets the same)."""
        try:
            self._table.update(
                _key(account, import_id),
                update="SET chunk_written.#chunk = :written, chunk_created.#chunk = :created",
                condition="etag = :etag AND #status = :verifying",
                names={"#chunk": str(chunk), "#status": "status"},
                values={
                    ":written": written,
                    ":created": created,
                    ":etag": etag,
                    ":verifying": str(ImportStatus.VERIFYING),
                },
            )
        except ConditionFailedError:
            return False
        return True

    def commit_created(self, account: str, import_id: str, *, etag: str, created: int) -> bool:
        """Add the contacts this import's file created to the account's counter, exactly once per file:
        one transaction marks the import counted for this ETag and adds them. False when it was counted
        already (a retry, or the same file delivered again after a failure: its creations were counted)."""
        try:
            self._table.transact(
                [
                    {
                        "update": _key(account, import_id),
                        "expression": "SET contacts_created = :created, counted_etag = :etag",
                        "condition": "etag = :etag AND "
                        "(attribute_not_exists(counted_etag) OR counted_etag <> :etag)",
                        "values": {":created": created, ":etag": etag},
                    },
                    contact_count_change(account, created),
                ]
            )
        except TransactionConflictError as error:
            if not error.condition_failed:
                raise  # held up by others through every attempt: the step fails, and its retry counts
            self._recount(account, import_id, etag=etag, created=created)
            return False
        return True

    def _recount(self, account: str, import_id: str, *, etag: str, created: int) -> None:
        """Counted already. A retried check claimed the record again, which cleared its results: the count
        of this file's creations (the same number: its contacts carry ``created_by``) goes back."""
        with contextlib.suppress(ConditionFailedError):
            self._table.update(
                _key(account, import_id),
                update="SET contacts_created = :created",
                condition="etag = :etag AND counted_etag = :etag AND attribute_not_exists(contacts_created)",
                values={":created": created, ":etag": etag},
            )

    def mark_failed(self, account: str, import_id: str, *, etag: str, reason: str) -> bool:
        """Every attempt at this file's check failed: say so. False when the record has moved on (the
        check finished after all, or a newer file took the import over): then nothing changes."""
        try:
            self._table.update(
                _key(account, import_id),
                update="SET #status = :failed, #error = :reason, finished_at = :now, updated_at = :now "
                "REMOVE lease_expires_at",
                condition="etag = :etag AND #status = :received",
                names={"#status": "status", "#error": "error"},
                values={
                    ":failed": str(ImportStatus.FAILED),
                    ":received": str(ImportStatus.RECEIVED),
                    ":reason": reason,
                    ":now": utc_now_iso(),
                    ":etag": etag,
                },
            )
        except ConditionFailedError:
            return False
        return True


def _key(account: str, import_id: str) -> dict[str, str]:
    return {"pk": keys.account_pk(account), "sk": keys.import_sk(import_id)}
