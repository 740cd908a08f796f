"""An import check that failed for good: every Lambda attempt failed (sustained throttling, an outage).

Lambda sends the failed S3 event to the function's on-failure destination (an SQS queue); the
``import_failed`` function hands each destination record here. The import becomes ``failed`` with a
one-line reason, so it is no longer stuck ``received``, and the customer is told (once per failed
delivery: a record delivered again finds its notification); uploading the same file again retries at
once: the account's import lane, if the last attempt died holding it, is given back. Nothing else
changes: no report was published (reports come after the contacts), and every contact
already written carries the flag of the check's outcome (the check is complete before the first write),
so none is sendable that the check did not clear.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field

from listguard.aws import aws_clients
from listguard.config import import_failed_settings
from listguard.domain.keys import InvalidKeyError, parse_import_key
from listguard.domain.vocabulary import EventType, ImportStatus
from listguard.flows.imports.commit import execution_name
from listguard.notify import Notifier
from listguard.stores import AccountStore, ContactStore, ImportStore, Table

logger = Logger(child=True)


class _RequestContext(BaseModel):
    model_config = ConfigDict(extra="ignore")
    request_id: str = Field(default="", alias="requestId")
    condition: str = "RetriesExhausted"
    approximate_invoke_count: int = Field(default=1, alias="approximateInvokeCount")


class DestinationRecord(BaseModel):
    """Lambda's on-failure destination record (the fields listguard reads)."""

    model_config = ConfigDict(extra="ignore")
    request_context: _RequestContext = Field(alias="requestContext")
    request_payload: dict[str, Any] = Field(default_factory=dict, alias="requestPayload")
    response_payload: dict[str, Any] | None = Field(default=None, alias="responsePayload")

    def reason(self) -> str:
        """One line for the customer and operators: what failed, never the error's text (an error message
        may quote data); the error type is enough to find the logs of that request."""
        error_type = (self.response_payload or {}).get("errorType") or "unknown error"
        context = self.request_context
        why = (
            "it waited too long to run"
            if context.condition == "EventAgeExceeded"
            else (f"{context.approximate_invoke_count} attempts failed ({error_type})")
        )
        return f"the check could not finish: {why}; upload the same file again to retry"


class FailedImport(BaseModel):
    source_key: str
    account: str | None = None
    import_id: str | None = None
    marked_failed: bool = False


def record_failures(records: Iterable[DestinationRecord]) -> list[FailedImport]:
    """Mark the import of every S3 object in the failed events ``failed``, give back the account's import
    lane if the failed attempts left it held, and tell the account (idempotent)."""
    imports, accounts, notifier = _from_settings()
    results = []
    for record in records:
        for s3_record in record.request_payload.get("Records") or []:
            failed = _mark(imports, s3_record, record.reason())
            _release_lane(accounts, failed, s3_record, record)
            _tell(imports, notifier, failed, s3_record, record)
            results.append(failed)
    return results


def _release_lane(
    accounts: AccountStore, failed: FailedImport, s3_record: Mapping[str, Any], record: DestinationRecord
) -> None:
    """The last attempt may have died holding the account's import lane (its answer lost, or the release
    never sent): the account's next import would wait out the lease. The lane is given back only if
    that delivery still holds it."""
    etag = str(s3_record.get("s3", {}).get("object", {}).get("eTag") or "").strip('"')
    claimant = record.request_context.request_id
    if failed.account is None or failed.import_id is None or not failed.marked_failed or not claimant:
        return
    accounts.release_lane(failed.account, execution_name(failed.account, failed.import_id, etag, claimant))


def _from_settings() -> tuple[ImportStore, AccountStore, Notifier]:
    settings, clients = import_failed_settings(), aws_clients()
    table = Table(clients.dynamodb, settings.table_name)
    accounts = AccountStore(table, ContactStore(table))
    notifier = Notifier.on(
        table,
        sesv2=clients.sesv2,
        sns=clients.sns,
        topic_arn=settings.flag_topic_arn,
        sender=settings.notification_sender,
    )
    return ImportStore(table), accounts, notifier


def _tell(
    imports: ImportStore,
    notifier: Notifier,
    failed: FailedImport,
    s3_record: Mapping[str, Any],
    record: DestinationRecord,
) -> None:
    """The customer hears of the failure whenever the import rests failed for this file: also when the
    record comes again because telling failed the first time (the same failed delivery is one event)."""
    if failed.account is None or failed.import_id is None:
        return
    etag = str(s3_record.get("s3", {}).get("object", {}).get("eTag") or "").strip('"')
    current = imports.get(failed.account, failed.import_id)
    if current is None or current.etag != etag or current.status is not ImportStatus.FAILED:
        return
    delivery = record.request_context.request_id or etag
    notifier.notify(
        failed.account,
        EventType.IMPORT_FAILED,
        f"import:{failed.account}:{failed.import_id}:{etag}:{EventType.IMPORT_FAILED}:{delivery}",
        {"import_id": failed.import_id, "reason": current.error or record.reason()},
    )


def _mark(imports: ImportStore, s3_record: Mapping[str, Any], reason: str) -> FailedImport:
    obj = s3_record.get("s3", {}).get("object", {})
    key = unquote_plus(str(obj.get("key", "")))
    etag = str(obj.get("eTag") or "").strip('"')
    try:
        ref = parse_import_key(key)
    except InvalidKeyError:
        return FailedImport(source_key=key)  # never became an import: nothing to mark
    # Only the attempt at this very file, and only while it is still unfinished: a check that finished
    # after all, or a newer file, is left alone (a replayed failure record changes nothing).
    marked = bool(etag) and imports.mark_failed(ref.account, ref.import_id, etag=etag, reason=reason)
    logger.warning(
        "import check failed for good",
        extra={"key": key, "import_id": ref.import_id, "marked_failed": marked, "reason": reason},
    )
    return FailedImport(source_key=key, account=ref.account, import_id=ref.import_id, marked_failed=marked)
