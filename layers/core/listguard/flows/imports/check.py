"""The import check: an import file landed in S3; verify it, write its contacts and its reports.

``check_imports(objects, request_id=..., lease_seconds=...)`` is the one call the ``import_check``
Lambda makes. One file goes through:

1. its key: ``imports/<account>/<file>`` with a safe account id and file name, or it is rejected
   (nothing written) or ignored (not an import at all);
2. its object, opened *at the event's ETag* (a late event for overwritten content is skipped);
3. the claim of its import record (idempotency: import id + ETag, see ``ImportStore.claim``);
4. stream (stage 1), decide (stage 2), commit (stage 3): see those modules.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from pydantic import BaseModel

from listguard.aws import aws_clients
from listguard.config import import_check_settings
from listguard.domain.keys import (
    ImportRef,
    InvalidKeyError,
    NotAnImportKeyError,
    parse_import_key,
    spool_prefix,
)
from listguard.domain.vocabulary import AccountStanding, ImportStatus, Outcome
from listguard.flows.imports.commit import (
    execution_name,
    publish_rejection,
    publish_reports,
    start_import_execution,
    summary_document,
)
from listguard.flows.imports.decide import SUSPENDED, Decision, decide
from listguard.flows.imports.stream import Streamed, stream
from listguard.stores import AccountStore, ContactStore, ImportStamp, ImportStore, Table, utc_now_iso
from listguard.verification import ImportReport, Policy, UnusableFileError, Verification, VerifyOptions

logger = Logger(child=True)


@dataclass(frozen=True)
class ImportedObject:
    """One uploaded object of an S3 event: bucket, URL-decoded key, ETag without quotes (may be empty)."""

    bucket: str
    key: str
    etag: str


class ImportCheckResult(BaseModel):
    """What happened to one file; ``status`` is an import status or ``skipped`` (see ``skipped_reason``).

    Never holds an address or row content: it is the function's result and goes to logs.
    """

    source_key: str
    status: str
    account: str | None = None
    import_id: str | None = None
    outcome: Outcome | None = None
    rows: int = 0
    contacts_written: int = 0
    skipped_reason: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Services:
    """What a check talks to (built from the function's settings, or by tests)."""

    s3: Any
    sfn: Any
    contacts: ContactStore
    imports: ImportStore
    accounts: AccountStore
    policy: Policy
    state_machine_arn: str
    confirmation_timeout_seconds: int
    chunk_size: int
    work_dir: str | None = None


def services_from_settings() -> Services:
    settings = import_check_settings()
    clients = aws_clients()
    table = Table(clients.dynamodb, settings.table_name)
    contacts = ContactStore(table)
    return Services(
        s3=clients.s3,
        sfn=clients.sfn,
        contacts=contacts,
        imports=ImportStore(table),
        accounts=AccountStore(table, contacts),
        policy=Policy(),
        state_machine_arn=settings.import_state_machine_arn,
        confirmation_timeout_seconds=settings.confirmation_timeout_seconds,
        chunk_size=settings.import_chunk_size,
        work_dir=settings.work_dir,
    )


def check_imports(
    objects: Iterable[ImportedObject], *, request_id: str, lease_seconds: int
) -> list[ImportCheckResult]:
    """Check every uploaded object (the ``import_check`` Lambda's one call).

    ``lease_seconds`` is how long this invocation can still run: a started check holds its import that
    long, so a live check is never taken over and a dead one is retried once the function is surely gone.
    """
    services = services_from_settings()
    return [
        ImportCheck(services, obj, claimant=request_id, lease_seconds=lease_seconds).run() for obj in objects
    ]


class ImportCheck:
    """The check of one uploaded object."""

    def __init__(self, services: Services, obj: ImportedObject, *, claimant: str, lease_seconds: int) -> None:
        self._services = services
        self._obj = obj
        self._claimant = claimant
        self._lease_seconds = lease_seconds

    def run(self) -> ImportCheckResult:
        """Raises on AWS errors (Lambda retries); an unusable file or key is ``rejected``, not an error."""
        obj = self._obj
        try:
            ref = parse_import_key(obj.key)
        except NotAnImportKeyError as error:
            logger.info("ignoring an object outside the import layout", extra={"reason": str(error)})
            return ImportCheckResult(source_key=obj.key, status="skipped", skipped_reason=str(error))
        except InvalidKeyError as error:
            # Nothing is written for a refused key: no record, no report (its path is not safe).
            logger.warning("import key refused", extra={"reason": str(error)})
            return ImportCheckResult(source_key=obj.key, status=ImportStatus.REJECTED, error=str(error))

        skipped = ImportCheckResult(
            source_key=obj.key, status="skipped", account=ref.account, import_id=ref.import_id
        )
        try:
            # IfMatch: a late event for content that has since been overwritten must not check the new
            # content under the old ETag (the newer upload has its own event).
            extra = {"IfMatch": obj.etag} if obj.etag else {}
            response = self._services.s3.get_object(Bucket=obj.bucket, Key=obj.key, **extra)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in {"PreconditionFailed", "412", "NoSuchKey", "404"}:
                logger.warning("import file changed or deleted since the event", extra={"key": obj.key})
                return skipped.model_copy(update={"skipped_reason": f"object superseded ({code})"})
            raise
        body = response["Body"]
        try:
            etag = str(response["ETag"]).strip('"')
            claim = self._services.imports.claim(
                ref.account,
                ref.import_id,
                etag=etag,
                claimant=self._claimant,
                source_key=obj.key,
                lease_seconds=self._lease_seconds,
            )
            if claim is None:
                logger.info("import already checked or being checked", extra={"key": obj.key, "etag": etag})
                return skipped.model_copy(update={"skipped_reason": "duplicate delivery"})
            # The list size from the account's counter; the blocklist for the file's own addresses: the
            # check reads what the file holds, not the account.
            profile = self._services.accounts.get(ref.account)
            if profile.standing is AccountStanding.SUSPENDED:
                return self._reject(ref, etag, SUSPENDED)
            existing_contacts = claim.pinned_existing_contacts(etag)
            if existing_contacts is None:
                existing_contacts = profile.contact_count
                self._services.imports.pin_existing_contacts(
                    ref.account, ref.import_id, etag=etag, existing_contacts=existing_contacts
                )
            options = VerifyOptions(existing_contacts=existing_contacts)
            contacts = self._services.contacts
            try:
                verification = Verification(
                    body,
                    options=options,
                    policy=self._services.policy,
                    size=int(response["ContentLength"]),
                    blocklist_lookup=lambda found: contacts.blocklisted_among(ref.account, found),
                )
            except UnusableFileError as error:
                return self._reject(ref, etag, str(error))
            return self._import(ref, etag, verification, options, profile.standing)
        finally:
            body.close()

    def _reject(self, ref: ImportRef, etag: str, message: str) -> ImportCheckResult:
        """An unusable file: say why, write nothing else. Not an error of the function (no retry)."""
        logger.info("import file rejected", extra={"key": ref.source_key, "reason": message})
        status = ImportStatus.REJECTED
        publish_rejection(
            self._services.s3, self._obj.bucket, ref, summary_document(ref, status, {"error": message})
        )
        self._services.imports.finish(
            ref.account,
            ref.import_id,
            etag=etag,
            claimant=self._claimant,
            status=status,
            fields={"error": message, "summary_key": ref.summary_key},
        )
        return ImportCheckResult(
            source_key=ref.source_key,
            status=status,
            account=ref.account,
            import_id=ref.import_id,
            error=message,
        )

    def _import(
        self,
        ref: ImportRef,
        etag: str,
        verification: Verification,
        options: VerifyOptions,
        standing: AccountStanding,
    ) -> ImportCheckResult:
        services = self._services
        with tempfile.TemporaryDirectory(prefix="import-check-", dir=services.work_dir) as work:
            streamed = stream(verification, Path(work), chunk_size=services.chunk_size)
            report, decision = streamed.report, decide(streamed.report, standing)
            # A newer upload took the import over: its run decides, this one writes nothing.
            if not self._still_owns(ref, etag):
                return self._superseded(ref, report.rows)
            holder = execution_name(ref.account, ref.import_id, etag, self._claimant)
            if decision.applies_at_once and len(streamed.contacts.chunks) <= 1 and self._lane(ref, holder):
                return self._apply_now(ref, etag, streamed, decision, options, holder)
            # Someone must answer, the file needs several invocations, or another import of the account
            # is writing its contacts: the state machine takes it from here (and waits for the lane).
            return self._hand_over(ref, etag, streamed, decision, options)

    def _lane(self, ref: ImportRef, holder: str) -> bool:
        return self._services.accounts.acquire_lane(
            ref.account, holder, lease_seconds=self._lease_seconds, now=datetime.now(UTC)
        )

    def _apply_now(
        self,
        ref: ImportRef,
        etag: str,
        streamed: Streamed,
        decision: Decision,
        options: VerifyOptions,
        holder: str,
    ) -> ImportCheckResult:
        """No one needs to answer and one invocation can write it all: write the contacts (this import
        holds the account's lane), count the new ones, then commit."""
        services, report = self._services, streamed.report
        stamp = ImportStamp(ref.account, ref.import_id, etag, decision.flag, utc_now_iso())
        try:
            tally = services.contacts.merge_import(stamp, streamed.contacts)
            services.imports.commit_created(ref.account, ref.import_id, etag=etag, created=tally.created)
        finally:
            services.accounts.release_lane(ref.account, holder)
        # Writing may take minutes on the largest files: ask again before anything is published, so a
        # stale run never overwrites the newer file's reports.
        if not self._still_owns(ref, etag):
            return self._superseded(ref, report.rows, tally.written)
        publish_reports(
            services.s3,
            self._obj.bucket,
            ref,
            streamed.rows_path,
            summary_document(ref, decision.status, report.model_dump(mode="json")),
        )
        contact_count = services.accounts.get(ref.account).contact_count
        fields = self._result_fields(ref, report, decision, options) | {
            "contacts_written": tally.written,
            "contact_count_after": contact_count,
        }
        self._finish(ref, etag, decision.status, fields)
        logger.info(
            "import checked and written",
            extra={
                "key": ref.source_key,
                "status": str(decision.status),
                "rows": report.rows,
                "contacts_created": tally.created,
                "contacts_merged": tally.merged,
                "write_conflicts": tally.conflicts,
            },
        )
        return self._result(ref, decision, report.rows, tally.written)

    def _hand_over(
        self, ref: ImportRef, etag: str, streamed: Streamed, decision: Decision, options: VerifyOptions
    ) -> ImportCheckResult:
        """Someone must answer, or the file needs several invocations: the contacts wait in S3 and the
        import state machine takes the import from here (status ``verifying``)."""
        services, report = self._services, streamed.report
        prefix = spool_prefix(ref.account, ref.import_id, etag)
        for path in streamed.contacts.chunks:
            services.s3.upload_file(str(path), self._obj.bucket, prefix + path.name)
        publish_reports(
            services.s3,
            self._obj.bucket,
            ref,
            streamed.rows_path,
            summary_document(ref, ImportStatus.VERIFYING, report.model_dump(mode="json")),
        )
        execution = execution_name(ref.account, ref.import_id, etag, self._claimant)
        fields = self._result_fields(ref, report, decision, options) | {
            "decided_status": str(decision.status),
            "needs_confirmation": decision.needs_confirmation,
            "chunks": len(streamed.contacts.chunks),
            # Filled chunk by chunk (contacts written, contacts created), by the state machine's Map.
            "chunk_written": {},
            "chunk_created": {},
            "execution_name": execution,
            **({"review_reason": decision.review_reason} if decision.review_reason else {}),
        }
        if not self._finish(ref, etag, ImportStatus.VERIFYING, fields):
            return self._superseded(ref, report.rows)
        start_import_execution(
            services.sfn,
            services.state_machine_arn,
            execution,
            {
                "import": {"account": ref.account, "import_id": ref.import_id, "etag": etag},
                "needs_confirmation": decision.needs_confirmation,
                "confirmation_timeout_seconds": services.confirmation_timeout_seconds,
                "chunks": list(range(len(streamed.contacts.chunks))),
            },
        )
        logger.info(
            "import checked and handed to the state machine",
            extra={"key": ref.source_key, "decided_status": str(decision.status), "execution": execution},
        )
        return self._result(ref, decision, report.rows, 0, status=ImportStatus.VERIFYING)

    def _result_fields(
        self, ref: ImportRef, report: ImportReport, decision: Decision, options: VerifyOptions
    ) -> dict[str, Any]:
        return {
            **({"outcome": str(decision.outcome)} if decision.outcome else {}),
            "verification_required": report.verification_required,
            "rows": report.rows,
            "new_contacts": report.new_contacts,
            "existing_contacts": options.existing_contacts,
            "flag_status": str(decision.flag),
            "verdicts": report.verdicts,
            "predicted_bounce_rate": report.predicted_bounce_rate,
            "reasons": [reason.message for reason in report.reasons],
            "summary_key": ref.summary_key,
            "rows_report_key": ref.rows_report_key,
        }

    def _finish(self, ref: ImportRef, etag: str, status: ImportStatus, fields: dict[str, Any]) -> bool:
        finished = self._services.imports.finish(
            ref.account, ref.import_id, etag=etag, claimant=self._claimant, status=status, fields=fields
        )
        if not finished:
            logger.warning(
                "a newer upload took this import over while it was checked", extra={"key": ref.source_key}
            )
        return finished

    def _result(
        self,
        ref: ImportRef,
        decision: Decision,
        rows: int,
        contacts_written: int,
        status: ImportStatus | None = None,
    ) -> ImportCheckResult:
        return ImportCheckResult(
            source_key=ref.source_key,
            status=status or decision.status,
            account=ref.account,
            import_id=ref.import_id,
            outcome=decision.outcome,
            rows=rows,
            contacts_written=contacts_written,
        )

    def _still_owns(self, ref: ImportRef, etag: str) -> bool:
        return self._services.imports.owns(ref.account, ref.import_id, etag=etag, claimant=self._claimant)

    def _superseded(self, ref: ImportRef, rows: int, contacts_written: int = 0) -> ImportCheckResult:
        logger.warning(
            "a newer upload took this import over while it was checked; leaving it to that check",
            extra={"key": ref.source_key},
        )
        return ImportCheckResult(
            source_key=ref.source_key,
            status="skipped",
            account=ref.account,
            import_id=ref.import_id,
            rows=rows,
            contacts_written=contacts_written,
            skipped_reason="superseded by a newer upload",
        )
