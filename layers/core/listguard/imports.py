"""The import check: an import file landed in S3; verify it, write its contacts and its reports.

``check_imports(event, request_id=...)`` is the one call the ``import_check`` Lambda makes. Steps of one
file, in the order that keeps every failure safe to retry:

1. parse ``imports/<account>/<import-id>.csv`` (the key arrives URL-encoded);
2. open the object *at the event's ETag* (a stale event for overwritten content is skipped);
3. claim the import record (idempotency: import id + ETag, see ``ContactRepository.claim_import``);
4. read the account's list size, blocklist and flagged contacts; stream the file through the
   verification engine, writing the row report to /tmp and the contacts to DynamoDB (``pending`` once
   a check is possible); an import never lowers a contact's flag (none < pending < declined);
5. if this run still owns the import: apply the outcome to the contacts, upload the reports (only now:
   nothing half-written is visible), recount the account's list, publish the flag event;
6. finish the import record (the commit point: a crash before it leaves the import ``received`` and
   the retry redoes the work, every write being a replacement).
"""

from __future__ import annotations

import gzip
import json
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from pydantic import BaseModel

from listguard.aws import aws_clients
from listguard.config import import_check_settings
from listguard.contacts import (
    BATCH_WRITE_LIMIT,
    FLAG_FOR_OUTCOME,
    IMPORT_STATUS_FOR_OUTCOME,
    ContactRepository,
    FlagStatus,
    ImportStatus,
    Item,
    contact_attributes,
    higher_flag,
    new_contact_item,
    utc_now_iso,
    with_flag,
)
from listguard.verification import (
    REPORT_HEADER,
    ImportReport,
    Outcome,
    Policy,
    RowResult,
    UnusableFileError,
    Verification,
    VerifyOptions,
)

logger = Logger(child=True)

IMPORTS_PREFIX = "imports/"
REPORTS_PREFIX = "reports/"
FLAG_EVENT_TYPE = "import_flagged"
_IMPORT_KEY = re.compile(r"^imports/(?P<account>[^/]+)/(?P<import_id>[^/]+)\.(?:csv|txt)$", re.IGNORECASE)


class InvalidImportKeyError(ValueError):
    """The object is not at ``imports/<account>/<import-id>.csv``."""


@dataclass(frozen=True)
class ImportRef:
    """Which import a key names, and where its reports go."""

    account: str
    import_id: str
    source_key: str

    @property
    def rows_report_key(self) -> str:
        return f"{REPORTS_PREFIX}{self.account}/{self.import_id}.rows.csv"

    @property
    def summary_key(self) -> str:
        return f"{REPORTS_PREFIX}{self.account}/{self.import_id}.json"


def parse_import_key(key: str) -> ImportRef:
    """``imports/<account>/<import-id>.csv`` (or ``.txt``), already URL-decoded."""
    match = _IMPORT_KEY.match(key)
    if match is None or not match["import_id"].strip() or not match["account"].strip():
        raise InvalidImportKeyError(
            f"not an import file (expected imports/<account>/<import-id>.csv): {key!r}"
        )
    return ImportRef(account=match["account"], import_id=match["import_id"], source_key=key)


@dataclass(frozen=True)
class ImportedObject:
    """One ``ObjectCreated`` record of an S3 event, key decoded."""

    bucket: str
    key: str
    etag: str  # without quotes; empty when the event has none

    @classmethod
    def from_s3_record(cls, record: Mapping[str, Any]) -> ImportedObject:
        s3 = record["s3"]
        # S3 URL-encodes keys in events (moto even encodes "/"); "+" stands for a space.
        return cls(
            bucket=s3["bucket"]["name"],
            key=unquote_plus(s3["object"]["key"]),
            etag=str(s3["object"].get("eTag") or "").strip('"'),
        )


class ImportCheckResult(BaseModel):
    """What happened to one file; ``status`` is an import status or ``skipped`` (see ``skipped_reason``)."""

    source_key: str
    status: str
    account: str | None = None
    import_id: str | None = None
    outcome: Outcome | None = None
    rows: int = 0
    contacts_written: int = 0
    skipped_reason: str | None = None
    error: str | None = None


def check_imports(event: Mapping[str, Any], *, request_id: str) -> list[ImportCheckResult]:
    """Check every import file of an S3 event (the ``import_check`` Lambda's one call)."""
    settings = import_check_settings()
    clients = aws_clients()
    checker = ImportChecker(
        s3=clients.s3,
        sns=clients.sns,
        contacts=ContactRepository(clients.dynamodb, settings.table_name),
        flag_topic_arn=settings.flag_topic_arn,
        policy=Policy(),
        lease_seconds=settings.import_lease_seconds,
        work_dir=settings.work_dir,
    )
    # S3's s3:TestEvent (sent when notifications are configured) has no Records.
    records = [
        r for r in event.get("Records") or [] if str(r.get("eventName", "")).startswith("ObjectCreated")
    ]
    return [checker.check(ImportedObject.from_s3_record(record), claimant=request_id) for record in records]


class ImportChecker:
    """Checks import files: S3 in, verification engine, DynamoDB contacts, S3 reports, SNS flag events."""

    def __init__(
        self,
        *,
        s3: Any,
        sns: Any,
        contacts: ContactRepository,
        flag_topic_arn: str,
        policy: Policy,
        lease_seconds: int = 900,
        work_dir: str | None = None,
    ) -> None:
        self._s3 = s3
        self._sns = sns
        self._contacts = contacts
        self._flag_topic_arn = flag_topic_arn
        self._policy = policy
        self._lease_seconds = lease_seconds
        self._work_dir = work_dir

    def check(self, obj: ImportedObject, *, claimant: str) -> ImportCheckResult:
        """Check one file. Raises on AWS errors (Lambda retries); an unusable file is ``rejected``."""
        try:
            ref = parse_import_key(obj.key)
        except InvalidImportKeyError as error:
            logger.warning("ignoring object outside the import layout", extra={"key": obj.key})
            return ImportCheckResult(source_key=obj.key, status="skipped", skipped_reason=str(error))

        skipped = ImportCheckResult(
            source_key=obj.key, status="skipped", account=ref.account, import_id=ref.import_id
        )
        try:
            # IfMatch: a late event for content that has since been overwritten must not check the new
            # content under the old ETag (the newer upload has its own event).
            extra = {"IfMatch": obj.etag} if obj.etag else {}
            response = self._s3.get_object(Bucket=obj.bucket, Key=obj.key, **extra)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in {"PreconditionFailed", "412", "NoSuchKey", "404"}:
                logger.warning("import file changed or deleted since the event", extra={"key": obj.key})
                return skipped.model_copy(update={"skipped_reason": f"object superseded ({code})"})
            raise
        body = response["Body"]
        try:
            etag = str(response["ETag"]).strip('"')
            claim = self._contacts.claim_import(
                ref.account,
                ref.import_id,
                etag=etag,
                claimant=claimant,
                source_key=obj.key,
                lease_seconds=self._lease_seconds,
            )
            if claim is None:
                logger.info("import already checked or being checked", extra={"key": obj.key, "etag": etag})
                return skipped.model_copy(update={"skipped_reason": "duplicate delivery"})
            snapshot = self._contacts.read_account_snapshot(ref.account, ref.import_id)
            pinned = (claim.previous or {}).get("pinned") or {}
            if claim.resumes(etag) and pinned.get("etag") == etag:
                existing_contacts = int(pinned["existing_contacts"])
            else:
                existing_contacts = snapshot.contact_count
                self._contacts.record_existing_contacts(
                    ref.account, ref.import_id, etag=etag, existing_contacts=existing_contacts
                )
            options = VerifyOptions(existing_contacts=existing_contacts, blocklist=snapshot.blocklist)
            try:
                verification = Verification(
                    body, options=options, policy=self._policy, size=int(response["ContentLength"])
                )
            except UnusableFileError as error:
                return self._reject(ref, obj.bucket, etag, claimant, str(error))
            return self._import(ref, obj.bucket, etag, claimant, verification, snapshot.flags, options)
        finally:
            body.close()

    # -- the two ends ---------------------------------------------------------------------------------

    def _reject(
        self, ref: ImportRef, bucket: str, etag: str, claimant: str, message: str
    ) -> ImportCheckResult:
        """An unusable file: say why, write nothing else. Not an error of the function (no retry)."""
        logger.info("import file rejected", extra={"key": ref.source_key, "reason": message})
        summary = _summary_header(ref, ImportStatus.REJECTED) | {"error": message}
        self._put_json(bucket, ref.summary_key, summary)
        # A row report of earlier content under the same key would contradict the summary.
        self._s3.delete_object(Bucket=bucket, Key=ref.rows_report_key)
        self._contacts.finish_import(
            ref.account,
            ref.import_id,
            etag=etag,
            claimant=claimant,
            status=ImportStatus.REJECTED,
            fields={"error": message, "summary_key": ref.summary_key},
        )
        return ImportCheckResult(
            source_key=ref.source_key,
            status=ImportStatus.REJECTED,
            account=ref.account,
            import_id=ref.import_id,
            error=message,
        )

    def _import(
        self,
        ref: ImportRef,
        bucket: str,
        etag: str,
        claimant: str,
        verification: Verification,
        prior_flags: Mapping[str, FlagStatus],
        options: VerifyOptions,
    ) -> ImportCheckResult:
        header, email_index = list(verification.header), verification.email_index
        now = utc_now_iso()

        def contacts_of(batch: Iterable[RowResult]) -> Iterator[Item]:
            for result in batch:
                if not result.verdict.importable:
                    continue  # reported, never imported
                yield new_contact_item(
                    account=ref.account,
                    import_id=ref.import_id,
                    import_etag=etag,
                    result=result,
                    attributes=contact_attributes(header, result.fields, email_index),
                    flag=FlagStatus.PENDING,
                    now=now,
                )

        with tempfile.TemporaryDirectory(prefix="import-check-", dir=self._work_dir) as work:
            rows_path = Path(work) / "rows.csv"
            writer = _ContactWriter(
                self._contacts,
                Path(work) / "pending.jsonl.gz",
                hold_limit=self._policy.check_min_new_contacts,
                prior_flags=prior_flags,
            )
            with rows_path.open("w", newline="", encoding="utf-8", errors="replace") as rows_file:
                rows_file.write(REPORT_HEADER)
                for batch in verification.batches():
                    rows_file.write(batch.report_csv())
                    writer.add(contacts_of(batch))
            report = verification.report()

            if report.verification_required:
                status = IMPORT_STATUS_FOR_OUTCOME[report.outcome]
                final_flag = FLAG_FOR_OUTCOME[report.outcome]
            else:
                status, final_flag = ImportStatus.IMPORTED, FlagStatus.NONE
            # A newer upload took the import over: its run decides. Applying this file's outcome now
            # would replace the newer file's contacts with this one's (whole-item puts); contacts this
            # run wrote stay pending (not sendable), the safe side.
            if not self._still_owns(ref, etag, claimant):
                return self._superseded(ref, report.rows, writer.written)
            contacts_written = writer.finish(final_flag)

            # Applying the outcome may take minutes on the largest files: ask again before anything
            # is published, so a stale run never overwrites the newer file's reports or notifies.
            if not self._still_owns(ref, etag, claimant):
                return self._superseded(ref, report.rows, contacts_written)
            # Reports become visible only now, whole (upload_file goes multipart for big files).
            self._s3.upload_file(
                str(rows_path),
                bucket,
                ref.rows_report_key,
                ExtraArgs={"ContentType": "text/csv; charset=utf-8"},
            )
        summary = _summary_header(ref, status) | report.model_dump(mode="json")
        self._put_json(bucket, ref.summary_key, summary)
        contact_count = self._contacts.refresh_contact_count(ref.account)
        if final_flag is not FlagStatus.NONE:
            # Before the commit point: a crash after it would lose the event; a crash before it repeats
            # it (at least once; consumers can deduplicate on account + import_id + etag).
            self._publish_flag_event(ref, etag, report, final_flag, contacts_written)

        finished = self._contacts.finish_import(
            ref.account,
            ref.import_id,
            etag=etag,
            claimant=claimant,
            status=status,
            fields={
                **({"outcome": str(report.outcome)} if report.verification_required else {}),
                "verification_required": report.verification_required,
                "rows": report.rows,
                "new_contacts": report.new_contacts,
                "existing_contacts": options.existing_contacts,
                "contacts_written": contacts_written,
                "flag_status": str(final_flag),
                "verdicts": report.verdicts,
                "predicted_bounce_rate": report.predicted_bounce_rate,
                "reasons": [reason.message for reason in report.reasons],
                "summary_key": ref.summary_key,
                "rows_report_key": ref.rows_report_key,
                "contact_count_after": contact_count,
            },
        )
        if not finished:
            logger.warning(
                "a newer upload took this import over while it was checked", extra={"key": ref.source_key}
            )
        logger.info(
            "import checked",
            extra={
                "key": ref.source_key,
                "status": str(status),
                "outcome": str(report.outcome),
                "rows": report.rows,
                "contacts_written": contacts_written,
            },
        )
        return ImportCheckResult(
            source_key=ref.source_key,
            status=status,
            account=ref.account,
            import_id=ref.import_id,
            outcome=report.outcome if report.verification_required else None,
            rows=report.rows,
            contacts_written=contacts_written,
        )

    def _still_owns(self, ref: ImportRef, etag: str, claimant: str) -> bool:
        return self._contacts.owns_import(ref.account, ref.import_id, etag=etag, claimant=claimant)

    def _superseded(self, ref: ImportRef, rows: int, contacts_written: int) -> ImportCheckResult:
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

    def _publish_flag_event(
        self, ref: ImportRef, etag: str, report: ImportReport, flag: FlagStatus, contacts: int
    ) -> None:
        """A small event for integrations; the full notification (email, notification center) comes later."""
        message = {
            "event_type": FLAG_EVENT_TYPE,
            "account": ref.account,
            "import_id": ref.import_id,
            "etag": etag,
            "outcome": str(report.outcome),
            "flag_status": str(flag),
            "contacts": contacts,
            "reasons": [reason.message for reason in report.reasons],
            "summary_key": ref.summary_key,
        }
        self._sns.publish(
            TopicArn=self._flag_topic_arn,
            Message=json.dumps(message, ensure_ascii=False),
            MessageAttributes={
                "event_type": {"DataType": "String", "StringValue": FLAG_EVENT_TYPE},
                "account": {"DataType": "String", "StringValue": ref.account},
                "outcome": {"DataType": "String", "StringValue": str(report.outcome)},
            },
        )

    def _put_json(self, bucket: str, key: str, document: Mapping[str, Any]) -> None:
        self._s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(document, ensure_ascii=False, indent=2).encode(),
            ContentType="application/json",
        )


def _summary_header(ref: ImportRef, status: ImportStatus) -> dict[str, Any]:
    return {
        "account": ref.account,
        "import_id": ref.import_id,
        "status": str(status),
        "source_key": ref.source_key,
    }


class _ContactWriter:
    """Writes an import's contacts while the file streams, before anyone knows whether a check is needed.

    The first ``hold_limit`` contacts (the policy's minimum for a check) are held in memory: most
    imports end before that and are written once, with their final flag. Past it, contacts are written
    ``pending`` (not sendable while the check runs) and spooled to a local file, so the outcome is
    applied afterwards by key: exact, where a gsi2 query right after the writes might not see them all
    yet (GSIs are eventually consistent). Memory stays bounded by ``hold_limit``.

    Every flag it writes is the higher of the contact's flag before the import (``prior_flags``) and
    the import's own: re-importing a declined (or pending) contact never makes it sendable.
    The spool is gzip-compressed: a contact is ~770 bytes of JSON (~63 bytes of CSV), which would not
    fit in /tmp for the largest files; level 1 shrinks it ~15-fold (52 bytes a contact on sample lists)
    at ~400 MB/s of JSON.
    """

    def __init__(
        self,
        contacts: ContactRepository,
        spool_path: Path,
        *,
        hold_limit: int,
        prior_flags: Mapping[str, FlagStatus],
    ) -> None:
        self._contacts = contacts
        self._spool_path = spool_path
        self._hold_limit = hold_limit
        self._prior_flags = prior_flags
        self._held: list[Item] = []
        self._spool: Any = None
        self.written = 0

    def add(self, items: Iterator[Item]) -> None:
        self._held.extend(items)
        if self._spool is None and len(self._held) <= self._hold_limit:
            return
        if self._spool is None:
            # Closed by finish(); on an error the temporary directory goes, spool and all.
            self._spool = gzip.open(self._spool_path, "wt", encoding="utf-8", compresslevel=1)  # noqa: SIM115
        # Full BatchWriteItem calls only; the remainder waits for the next batch (or for finish()).
        cut = len(self._held) - len(self._held) % BATCH_WRITE_LIMIT
        pending = [self._flagged(item, FlagStatus.PENDING) for item in self._held[:cut]]
        self._held = self._held[cut:]
        for item in pending:
            self._spool.write(json.dumps(item, ensure_ascii=False) + "\n")
        self.written += self._contacts.put_contacts(pending)

    def finish(self, final_flag: FlagStatus) -> int:
        """Give every contact its final flag; returns how many contacts the import wrote."""
        if self._spool is not None:
            self._spool.close()
            if final_flag is not FlagStatus.PENDING:
                now = utc_now_iso()
                # Spooled as written: only those whose flag changes are written again.
                changed = (
                    changed
                    for item in self._spooled()
                    if (changed := self._flagged(item, final_flag, updated_at=now)) is not item
                )
                self._contacts.put_contacts(changed)
        if self._held:
            self.written += self._contacts.put_contacts(
                self._flagged(item, final_flag) for item in self._held
            )
            self._held = []
        return self.written

    def _flagged(self, item: Item, flag: FlagStatus, *, updated_at: str | None = None) -> Item:
        """The item with the import's flag applied, never below the contact's flag before the import
        (the item itself when its flag is that already)."""
        target = higher_flag(self._prior_flags.get(item["email_key"], FlagStatus.NONE), flag)
        return item if item["flag_status"] == target else with_flag(item, target, updated_at=updated_at)

    def _spooled(self) -> Iterator[Item]:
        with gzip.open(self._spool_path, "rt", encoding="utf-8") as spool:
            for line in spool:
                yield json.loads(line)
