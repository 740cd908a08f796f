"""The DynamoDB repository of contacts, imports and account profiles (one table, ``pk``/``sk``).

Item shapes (every item also has ``type``):

- contact: ``pk=ACCOUNT#<account>``, ``sk=CONTACT#<email key>``; ``email``, ``email_key``, ``attributes``
  (the other CSV columns, header -> value, empty values dropped), ``flag_status``, ``subscription_status``,
  ``import_id``, ``import_etag``, ``verdict``, ``row``, ``imported_at``, ``updated_at``;
  ``gsi1pk=ACCOUNT#<account>#FLAG#<flag_status>``, ``gsi1sk=<email key>`` (contacts by flag status);
  ``gsi2pk=IMPORT#<account>#<import id>``, ``gsi2sk=<email key>`` (contacts by import).
- import record: ``pk=ACCOUNT#<account>``, ``sk=IMPORT#<import id>``; ``status``, ``etag``, ``source_key``,
  ``claimed_by``, ``lease_expires_at`` while a check runs; then ``outcome``, counts, report keys.
- account profile: ``pk=ACCOUNT#<account>``, ``sk=PROFILE``; ``contact_count``.
"""

from __future__ import annotations

import random
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from itertools import batched
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from listguard.verification import Outcome, RowResult, Verdict

Item = dict[str, Any]

#: BatchWriteItem takes at most 25 put requests per call.
BATCH_WRITE_LIMIT = 25
PROFILE_SK = "PROFILE"
#: DynamoDB items are at most 400 KB: a row with huge extra columns keeps what fits in this budget.
ATTRIBUTES_BUDGET_BYTES = 256 * 1024


class FlagStatus(StrEnum):
    """Whether a contact may be mailed: ``none`` (sendable), ``pending`` (check running), ``declined``."""

    NONE = "none"
    PENDING = "pending"
    DECLINED = "declined"


class SubscriptionStatus(StrEnum):
    SUBSCRIBED = "subscribed"
    BLOCKLISTED = "blocklisted"


class ImportStatus(StrEnum):
    RECEIVED = "received"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    VERIFYING = "verifying"
    IMPORTED = "imported"
    VALIDATED = "validated"
    DECLINED = "declined"
    IN_REVIEW = "in_review"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


#: What an outcome does to the import's contacts, and to the import.
FLAG_FOR_OUTCOME: Mapping[Outcome, FlagStatus] = {
    Outcome.VALIDATED: FlagStatus.NONE,
    Outcome.DECLINED: FlagStatus.DECLINED,
    Outcome.MANUAL_REVIEW: FlagStatus.PENDING,  # an operator decides later
}
IMPORT_STATUS_FOR_OUTCOME: Mapping[Outcome, ImportStatus] = {
    Outcome.VALIDATED: ImportStatus.VALIDATED,
    Outcome.DECLINED: ImportStatus.DECLINED,
    Outcome.MANUAL_REVIEW: ImportStatus.IN_REVIEW,
}


class UnprocessedItemsError(RuntimeError):
    """DynamoDB kept returning ``UnprocessedItems`` after every retry (sustained throttling)."""


def email_key(address: str) -> str:
    """The identity of a contact: trimmed, NFC-normalised, case-folded address."""
    return unicodedata.normalize("NFC", address.strip()).casefold()


def account_pk(account: str) -> str:
    return f"ACCOUNT#{account}"


def contact_sk(key: str) -> str:
    return f"CONTACT#{key}"


def import_sk(import_id: str) -> str:
    return f"IMPORT#{import_id}"


def flag_gsi_pk(account: str, flag: FlagStatus) -> str:
    return f"ACCOUNT#{account}#FLAG#{flag}"


def import_gsi_pk(account: str, import_id: str) -> str:
    return f"IMPORT#{account}#{import_id}"


def utc_now_iso(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).isoformat(timespec="milliseconds")


def with_flag(contact: Item, flag: FlagStatus, *, updated_at: str | None = None) -> Item:
    """A copy of a contact item with another flag status (and the gsi1 key that follows it)."""
    account = contact["pk"].removeprefix("ACCOUNT#")
    changed = {**contact, "flag_status": str(flag), "gsi1pk": flag_gsi_pk(account, flag)}
    if updated_at:
        changed["updated_at"] = updated_at
    return changed


def to_dynamodb(value: Any) -> Any:
    """DynamoDB numbers are Decimals: floats (rates) are converted through their shortest repr."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {str(k): to_dynamodb(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamodb(v) for v in value]
    return value


@dataclass(frozen=True)
class Claim:
    """A successful claim of an import: the record as it was before (None for a new import)."""

    previous: Item | None

    def resumes(self, etag: str) -> bool:
        """True when an earlier attempt at the same file was started (and may have written contacts)."""
        return self.previous is not None and self.previous.get("etag") == etag


@dataclass(frozen=True)
class AccountSnapshot:
    """What the check needs to know about the account before it starts."""

    contact_count: int
    blocklist: frozenset[str]

    def blocklisted_keys(self) -> frozenset[str]:
        return frozenset(email_key(address) for address in self.blocklist)


def batch_put(
    dynamodb: Any,
    table_name: str,
    items: Iterable[Item],
    *,
    max_attempts: int = 8,
    base_delay: float = 0.05,
    max_delay: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Put items with BatchWriteItem, 25 per call, retrying ``UnprocessedItems`` with backoff.

    Returns the number of items written. ``UnprocessedItems`` is DynamoDB's answer to throttling on
    part of a batch: resending at once would be throttled again, so wait exponentially (full jitter, so
    concurrent writers spread out), and give up with ``UnprocessedItemsError`` after ``max_attempts``.
    """
    written = 0
    for chunk in batched(items, BATCH_WRITE_LIMIT):
        # One request may not name the same key twice (ValidationException): the last one wins.
        unique = {(item["pk"], item["sk"]): item for item in chunk}
        requests: list[Item] = [{"PutRequest": {"Item": item}} for item in unique.values()]
        attempt = 0
        while requests:
            response = dynamodb.batch_write_item(RequestItems={table_name: requests})
            requests = response.get("UnprocessedItems", {}).get(table_name, [])
            if not requests:
                break
            attempt += 1
            if attempt >= max_attempts:
                raise UnprocessedItemsError(
                    f"{len(requests)} items still unprocessed after {attempt} attempts on {table_name}"
                )
            sleep(random.uniform(0, min(max_delay, base_delay * 2**attempt)))
        written += len(unique)
    return written


class ContactRepository:
    """Contacts, import records and account profiles of one table."""

    def __init__(self, dynamodb: Any, table_name: str, *, sleep: Callable[[float], None] = time.sleep):
        self._dynamodb = dynamodb
        self._table_name = table_name
        self._table = dynamodb.Table(table_name)
        self._sleep = sleep

    # -- contacts -------------------------------------------------------------------------------------

    def put_contacts(self, items: Iterable[Item]) -> int:
        """Write (replace) contact items, 25 per BatchWriteItem call; returns how many were written."""
        return batch_put(self._dynamodb, self._table_name, items, sleep=self._sleep)

    def contacts(self, account: str) -> Iterator[Item]:
        """Every contact of the account (base table, strongly consistent)."""
        yield from self._query(
            KeyConditionExpression=Key("pk").eq(account_pk(account)) & Key("sk").begins_with("CONTACT#"),
            ConsistentRead=True,
        )

    def contacts_by_flag(self, account: str, flag: FlagStatus | str) -> Iterator[Item]:
        """The account's contacts with one flag status (gsi1; eventually consistent, like every GSI)."""
        yield from self._query(
            IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(flag_gsi_pk(account, FlagStatus(flag)))
        )

    def contacts_of_import(self, account: str, import_id: str) -> Iterator[Item]:
        """The contacts an import wrote and that no later import has taken over (gsi2)."""
        yield from self._query(
            IndexName="gsi2", KeyConditionExpression=Key("gsi2pk").eq(import_gsi_pk(account, import_id))
        )

    def rewrite_flag(self, contacts: Iterable[Item], flag: FlagStatus) -> int:
        """Give contacts another flag status (whole-item puts: BatchWriteItem cannot update)."""
        now = utc_now_iso()
        return self.put_contacts(
            with_flag(contact, flag, updated_at=now) for contact in contacts if contact["flag_status"] != flag
        )

    def apply_outcome(self, account: str, import_id: str, outcome: Outcome) -> int:
        """Flag the contacts of an import as its outcome says; returns how many contacts changed.

        For decisions taken after the check (an operator's on a ``manual_review`` import): it reads the
        import's contacts from gsi2, which is only eventually consistent, so it is not used in the same
        breath as the writes (``import_check`` rewrites from its own spool instead). Only contacts of the
        import's current file (its ETag) are touched: a later upload to the same key is a new check.
        """
        record = self.get_import(account, import_id)
        current_etag = record.get("etag") if record else None
        contacts = (
            c
            for c in self.contacts_of_import(account, import_id)
            if current_etag is None or c.get("import_etag") == current_etag
        )
        return self.rewrite_flag(contacts, FLAG_FOR_OUTCOME[outcome])

    # -- the account ----------------------------------------------------------------------------------

    def read_account_snapshot(self, account: str) -> AccountSnapshot:
        """The account's list size and blocklist, in one pass over its contacts.

        The table has no index by subscription status, so the blocklist is a read of the account's
        contacts with a small projection (about 1 MB, thousands of contacts, per page); counting them
        on the way gives an exact list size for free.
        """
        count = 0
        blocklist: set[str] = set()
        for contact in self._query(
            KeyConditionExpression=Key("pk").eq(account_pk(account)) & Key("sk").begins_with("CONTACT#"),
            ProjectionExpression="email, subscription_status",
            ConsistentRead=True,
        ):
            count += 1
            if contact.get("subscription_status") == SubscriptionStatus.BLOCKLISTED:
                blocklist.add(contact["email"])
        return AccountSnapshot(contact_count=count, blocklist=frozenset(blocklist))

    def refresh_contact_count(self, account: str) -> int:
        """Recount the account's contacts into its profile (exact and idempotent, unlike an increment:
        BatchWriteItem does not say which puts created a contact and which replaced one)."""
        count = 0
        kwargs: Item = {
            "KeyConditionExpression": Key("pk").eq(account_pk(account)) & Key("sk").begins_with("CONTACT#"),
            "Select": "COUNT",
            "ConsistentRead": True,
        }
        while True:
            page = self._table.query(**kwargs)
            count += page["Count"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        self._table.update_item(
            Key={"pk": account_pk(account), "sk": PROFILE_SK},
            UpdateExpression="SET contact_count = :count, updated_at = :now, #type = :type",
            ExpressionAttributeNames={"#type": "type"},
            ExpressionAttributeValues={":count": count, ":now": utc_now_iso(), ":type": "profile"},
        )
        return count

    # -- import records -------------------------------------------------------------------------------

    def get_import(self, account: str, import_id: str) -> Item | None:
        response = self._table.get_item(
            Key={"pk": account_pk(account), "sk": import_sk(import_id)}, ConsistentRead=True
        )
        return response.get("Item")

    def claim_import(
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

        The import record is the idempotency key (import id + ETag). The conditional write succeeds when:
        - the import is new, or its file has new content (another ETag: a new upload is a new check);
        - or the same file's check was started by this claimant (Lambda retries an async invocation with
          the same request id, so a retry after a crash resumes the work; every write is a replacement);
        - or the same file's check was started and its lease ran out (it crashed for good).
        A duplicate delivery of the event (S3 delivers at least once) fails the condition and changes
        nothing.
        """
        moment = now or datetime.now(UTC)
        try:
            response = self._table.update_item(
                Key={"pk": account_pk(account), "sk": import_sk(import_id)},
                ReturnValues="ALL_OLD",
                UpdateExpression=(
                    "SET #type = :type, account = :account, import_id = :import_id, #status = :received, "
                    "etag = :etag, source_key = :source_key, claimed_by = :claimant, "
                    "lease_expires_at = :lease, received_at = :now_iso, updated_at = :now_iso "
                    "REMOVE outcome, #error, finished_at"
                ),
                ConditionExpression=(
                    "attribute_not_exists(sk) OR etag <> :etag OR "
                    "(#status = :received AND (claimed_by = :claimant OR lease_expires_at < :now))"
                ),
                ExpressionAttributeNames={"#type": "type", "#status": "status", "#error": "error"},
                ExpressionAttributeValues={
                    ":type": "import",
                    ":account": account,
                    ":import_id": import_id,
                    ":received": str(ImportStatus.RECEIVED),
                    ":etag": etag,
                    ":source_key": source_key,
                    ":claimant": claimant,
                    ":lease": int(moment.timestamp()) + lease_seconds,
                    ":now": int(moment.timestamp()),
                    ":now_iso": utc_now_iso(moment),
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return Claim(previous=response.get("Attributes"))

    def record_existing_contacts(self, account: str, import_id: str, existing_contacts: int) -> None:
        """Pin the list size the check is measured against, so a resumed check (whose first attempt
        already wrote some contacts) decides exactly as the first attempt would have."""
        self._table.update_item(
            Key={"pk": account_pk(account), "sk": import_sk(import_id)},
            UpdateExpression="SET existing_contacts = :count",
            ExpressionAttributeValues={":count": existing_contacts},
        )

    def finish_import(
        self, account: str, import_id: str, *, etag: str, claimant: str, status: ImportStatus, fields: Item
    ) -> bool:
        """Record the end of a check (the commit point). False when a newer upload took the import over."""
        values = {f":{name}": to_dynamodb(value) for name, value in fields.items()}
        names = {f"#{name}": name for name in fields}
        assignments = "".join(f", #{name} = :{name}" for name in fields)
        try:
            self._table.update_item(
                Key={"pk": account_pk(account), "sk": import_sk(import_id)},
                UpdateExpression="SET #status = :status, finished_at = :finished_at, "
                f"updated_at = :finished_at{assignments} REMOVE lease_expires_at",
                ConditionExpression="etag = :etag AND claimed_by = :claimant",
                ExpressionAttributeNames={"#status": "status", **names},
                ExpressionAttributeValues={
                    ":status": str(status),
                    ":finished_at": utc_now_iso(),
                    ":etag": etag,
                    ":claimant": claimant,
                    **values,
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -- plumbing -------------------------------------------------------------------------------------

    def _query(self, **kwargs: Any) -> Iterator[Item]:
        while True:
            page = self._table.query(**kwargs)
            yield from page["Items"]
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def contact_attributes(header: list[str], fields: list[str], email_index: int) -> dict[str, str]:
    """The row's other columns as header -> value; empty values dropped, unnamed columns numbered."""
    attributes: dict[str, str] = {}
    budget = ATTRIBUTES_BUDGET_BYTES
    for index, raw in enumerate(fields):
        value = raw.strip()
        if index == email_index or not value:
            continue
        name = (header[index].strip() if index < len(header) else "") or f"column_{index + 1}"
        budget -= len(name.encode()) + len(value.encode())
        if budget < 0:
            break  # keep the contact importable rather than fail the whole batch on one giant row
        attributes[name] = value
    return attributes


def new_contact_item(
    *,
    account: str,
    import_id: str,
    import_etag: str,
    result: RowResult,
    attributes: dict[str, str],
    flag: FlagStatus,
    blocklisted: bool,
    now: str,
) -> Item:
    """The contact item an import writes for one importable row."""
    key = email_key(result.email)
    # Blocklisted contacts are never re-subscribed by an import.
    subscription = (
        SubscriptionStatus.BLOCKLISTED
        if blocklisted or result.verdict == Verdict.BLOCKLISTED
        else SubscriptionStatus.SUBSCRIBED
    )
    return {
        "pk": account_pk(account),
        "sk": contact_sk(key),
        "type": "contact",
        "email": result.email.strip(),
        "email_key": key,
        "attributes": attributes,
        "flag_status": str(flag),
        "subscription_status": str(subscription),
        "import_id": import_id,
        "import_etag": import_etag,
        "verdict": str(result.verdict),
        "row": result.row,
        "imported_at": now,
        "updated_at": now,
        "gsi1pk": flag_gsi_pk(account, flag),
        "gsi1sk": key,
        "gsi2pk": import_gsi_pk(account, import_id),
        "gsi2sk": key,
    }
