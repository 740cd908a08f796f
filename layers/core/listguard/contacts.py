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
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from itertools import batched
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from listguard.verification import Outcome, RowResult, Verdict, normalize_address

Item = dict[str, Any]

#: BatchWriteItem takes at most 25 put requests per call.
BATCH_WRITE_LIMIT = 25
#: BatchWriteItem calls in flight at once: a call takes ~10 ms, so one thread writes ~2,500 items a
#: second, too few for a multi-million-row import in 900 s; 8 threads stay well under the table's limits.
WRITE_THREADS = 8
PROFILE_SK = "PROFILE"
#: DynamoDB items are at most 400 KB: a row with huge extra columns keeps what fits in this budget.
ATTRIBUTES_BUDGET_BYTES = 256 * 1024


class FlagStatus(StrEnum):
    """Whether a contact may be mailed: ``none`` (sendable), ``pending`` (check running), ``declined``."""

    NONE = "none"
    PENDING = "pending"
    DECLINED = "declined"


#: How far a flag keeps a contact from being mailed. An import never lowers a contact's flag.
FLAG_RANK: Mapping[FlagStatus, int] = {FlagStatus.NONE: 0, FlagStatus.PENDING: 1, FlagStatus.DECLINED: 2}


def higher_flag(current: FlagStatus | str, flag: FlagStatus | str) -> FlagStatus:
    """The flag a contact gets when ``flag`` is applied to it: never lower than the one it has."""
    current, flag = FlagStatus(current), FlagStatus(flag)
    return current if FLAG_RANK[current] > FLAG_RANK[flag] else flag


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


#: What ``finish_import`` records about a file's check. A new upload (another ETag) removes them all
#: when it claims the import, so the record never shows the previous file's results.
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
)


def email_key(address: str) -> str:
    """The identity of a contact: the engine's own (duplicates and the blocklist use it too)."""
    return normalize_address(address)


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
    #: The addresses of blocklisted contacts, as stored: the engine normalises them as it does rows.
    blocklist: frozenset[str]
    #: Email key -> flag of the contacts that are ``pending`` or ``declined`` (all others are ``none``):
    #: an import never lowers them.
    flags: Mapping[str, FlagStatus]


def batch_put(
    dynamodb: Any,
    table_name: str,
    items: Iterable[Item],
    *,
    threads: int | None = None,
    max_attempts: int = 8,
    base_delay: float = 0.05,
    max_delay: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Put items with BatchWriteItem, 25 per call and ``threads`` calls at once; returns how many.

    ``UnprocessedItems`` is DynamoDB's answer to throttling on part of a batch: resending at once would
    be throttled again, so wait exponentially (full jitter, so concurrent writers spread out), and give
    up with ``UnprocessedItemsError`` after ``max_attempts``. The first error of any call is raised.
    Calls may complete in any order: callers never put the same key twice in one ``batch_put``.
    """
    threads = threads or WRITE_THREADS  # read on each call (the functional tests lower it)
    # The resource is not thread-safe, its client is (and it still takes and returns plain values).
    client = dynamodb.meta.client

    def put(chunk: tuple[Item, ...]) -> int:
        # One request may not name the same key twice (ValidationException): the last one wins.
        unique = {(item["pk"], item["sk"]): item for item in chunk}
        requests: list[Item] = [{"PutRequest": {"Item": item}} for item in unique.values()]
        attempt = 0
        while requests:
            response = client.batch_write_item(RequestItems={table_name: requests})
            requests = response.get("UnprocessedItems", {}).get(table_name, [])
            if not requests:
                break
            attempt += 1
            if attempt >= max_attempts:
                raise UnprocessedItemsError(
                    f"{len(requests)} items still unprocessed after {attempt} attempts on {table_name}"
                )
            sleep(random.uniform(0, min(max_delay, base_delay * 2**attempt)))
        return len(unique)

    written = 0
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="batch-put") as pool:
        in_flight: set[Future[int]] = set()
        try:
            for chunk in batched(items, BATCH_WRITE_LIMIT):
                # A bounded window: ``items`` may be millions of spooled contacts, read as they go.
                if len(in_flight) >= 2 * threads:
                    done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                    written += sum(future.result() for future in done)
                in_flight.add(pool.submit(put, chunk))
            done, in_flight = wait(in_flight)
            written += sum(future.result() for future in done)
        finally:
            for future in in_flight:
                future.cancel()  # after an error: calls not started yet are not sent
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

        Contacts that were ``declined`` before the import stay so (an import never lowers a flag, and
        they leave ``declined`` only by remediation); the import's own ``pending`` becomes the outcome's.

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
            if (current_etag is None or c.get("import_etag") == current_etag)
            and c["flag_status"] != FlagStatus.DECLINED
        )
        return self.rewrite_flag(contacts, FLAG_FOR_OUTCOME[outcome])

    # -- the account ----------------------------------------------------------------------------------

    def read_account_snapshot(self, account: str, import_id: str) -> AccountSnapshot:
        """The account's list size, blocklist and flagged contacts, in one pass over its contacts.

        The table has no index by subscription status, so the blocklist is a read of the account's
        contacts with a small projection (about 1 MB, thousands of contacts, per page); counting them
        and noting their flags on the way is free. ``pending`` written by this import itself (an
        earlier attempt, or an earlier file of the same import, which this check supersedes) is not a
        flag the contact had before the import: it is left out, so the outcome can replace it.
        """
        count = 0
        blocklist: set[str] = set()
        flags: dict[str, FlagStatus] = {}
        for contact in self._query(
            KeyConditionExpression=Key("pk").eq(account_pk(account)) & Key("sk").begins_with("CONTACT#"),
            ProjectionExpression="sk, email, subscription_status, flag_status, import_id",
            ConsistentRead=True,
        ):
            count += 1
            if contact.get("subscription_status") == SubscriptionStatus.BLOCKLISTED:
                blocklist.add(contact["email"])
            flag = contact.get("flag_status")
            if flag == FlagStatus.DECLINED or (
                flag == FlagStatus.PENDING and contact.get("import_id") != import_id
            ):
                flags[contact["sk"].removeprefix("CONTACT#")] = FlagStatus(flag)
        return AccountSnapshot(contact_count=count, blocklist=frozenset(blocklist), flags=flags)

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
                    f"REMOVE {', '.join(f'#r{i}' for i in range(len(RESULT_FIELDS)))}"
                ),
                ConditionExpression=(
                    "attribute_not_exists(sk) OR etag <> :etag OR "
                    "(#status = :received AND (claimed_by = :claimant OR lease_expires_at < :now))"
                ),
                ExpressionAttributeNames={
                    "#type": "type",
                    "#status": "status",
                    **{f"#r{i}": name for i, name in enumerate(RESULT_FIELDS)},
                },
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

    def record_existing_contacts(
        self, account: str, import_id: str, *, etag: str, existing_contacts: int
    ) -> None:
        """Pin the list size the check is measured against, so a resumed check (whose first attempt
        already wrote some contacts) decides exactly as the first attempt would have. Pinned with the
        file's ETag, apart from the results: a claim removes those, and a crash between a new file's
        claim and this pin must not let its retry use the previous file's figure."""
        self._table.update_item(
            Key={"pk": account_pk(account), "sk": import_sk(import_id)},
            UpdateExpression="SET pinned = :pinned",
            ExpressionAttributeValues={":pinned": {"etag": etag, "existing_contacts": existing_contacts}},
        )

    def owns_import(self, account: str, import_id: str, *, etag: str, claimant: str) -> bool:
        """Whether this claimant's check of this file still holds the import (a newer upload takes it)."""
        record = self.get_import(account, import_id)
        return record is not None and record.get("etag") == etag and record.get("claimed_by") == claimant

    def finish_import(
        self, account: str, import_id: str, *, etag: str, claimant: str, status: ImportStatus, fields: Item
    ) -> bool:
        """Record the end of a check (the commit point). False when a newer upload took the import over."""
        if unknown := set(fields) - set(RESULT_FIELDS):
            raise ValueError(f"not a result field (add it to RESULT_FIELDS): {sorted(unknown)}")
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
    now: str,
) -> Item:
    """The contact item an import writes for one importable row (it replaces the stored one whole:
    attributes of an earlier import are not merged, which would need a read per contact)."""
    key = email_key(result.email)
    # Blocklisted contacts are never re-subscribed by an import. The engine gives every importable row
    # of an address on the account's blocklist this verdict (only unimportable verdicts outrank it).
    subscription = (
        SubscriptionStatus.BLOCKLISTED
        if result.verdict == Verdict.BLOCKLISTED
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
