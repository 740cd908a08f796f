"""Tombstones (``ACCOUNT#<account>`` / ``TOMBSTONE#<address hash>#<remediation id>``): what is left of a
contact that a remediation deleted. The SHA-256 of its normalised address, the reason and the date, and
nothing else of the contact: no address, no name, no column it was imported with.

A contact is deleted only if it is still exactly as exported (its revision), declined and subscribed.
The tombstones of a batch of contacts are written first (BatchWriteItem, 25 a call), then each contact
is deleted by a conditional DeleteItem; a contact found changed keeps no tombstone (it is taken back).
So a contact is never gone without its tombstone, and whatever fails (a lost request, a lost answer,
a crash), running the same batch again completes it: the tombstones an earlier attempt wrote are read
back (BatchGetItem, 100 a call) and kept, and a contact found gone was deleted by this remediation unless
another remediation's tombstone says that one did.

Per contact: one DeleteItem and a share of two batch calls, 4 write units (the tombstone, the contact
and its two index entries). A transaction per contact would take 6, for an atomicity this does not need.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from itertools import batched
from typing import Any

from pydantic import BaseModel, ConfigDict

from listguard.domain import keys
from listguard.domain.vocabulary import FlagStatus, SubscriptionStatus
from listguard.stores.dynamo import ConditionFailedError, Item, Table, UnprocessedKeysError, serialize

#: BatchWriteItem takes at most 25 requests a call.
BATCH_WRITE_LIMIT = 25
MAX_BATCH_ATTEMPTS = 8


class DeleteOutcome(StrEnum):
    DELETED = "deleted"
    #: The contact changed since the export (its revision, flag or subscription): left as it is.
    LEFT_CHANGED = "left_changed"
    #: Deleted by another remediation before this one reached it (its tombstone says so).
    ALREADY_GONE = "already_gone"


class Tombstone(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    address_hash: str
    reason: str
    deleted_on: str


@dataclass(frozen=True)
class ExportedContact:
    """A contact as the export holds it: its identity and the revision it had."""

    email_key: str
    revision: int | None


class TombstoneStore:
    def __init__(self, table: Table, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._table = table
        self._sleep = sleep

    def delete_contacts(
        self,
        account: str,
        contacts: Sequence[ExportedContact],
        *,
        remediation_id: str,
        reason: str,
        deleted_on: str,
        threads: int = 1,
    ) -> list[DeleteOutcome]:
        """Delete each contact that is still exactly as exported, leaving its tombstone (safe to repeat).
        The outcomes come in the order of ``contacts``."""
        tombstones = [self._tombstone_key(account, c.email_key, remediation_id) for c in contacts]
        # The tombstones an earlier attempt wrote stay as they are (their date is the delete's).
        written_before = {item["sk"] for item in self._table.batch_get(tombstones, projection=("pk", "sk"))}
        self._batch_write(
            [
                {
                    "PutRequest": {
                        "Item": serialize(
                            {
                                **key,
                                "type": "tombstone",
                                "address_hash": keys.address_hash(contact.email_key),
                                "reason": reason,
                                "deleted_on": deleted_on,
                            }
                        )
                    }
                }
                for contact, key in zip(contacts, tombstones, strict=True)
                if key["sk"] not in written_before
            ]
        )

        def delete(contact: ExportedContact) -> DeleteOutcome:
            return self._delete_one(account, contact, remediation_id)

        with ThreadPoolExecutor(max(1, threads), thread_name_prefix="delete") as pool:
            outcomes = list(pool.map(delete, contacts))
        # Not deleted by this remediation: no tombstone.
        self._batch_write(
            [
                {"DeleteRequest": {"Key": serialize(key)}}
                for key, outcome in zip(tombstones, outcomes, strict=True)
                if outcome is not DeleteOutcome.DELETED
            ]
        )
        return outcomes

    def _delete_one(self, account: str, contact: ExportedContact, remediation_id: str) -> DeleteOutcome:
        unchanged = "#rev = :rev" if contact.revision is not None else "attribute_not_exists(#rev)"
        try:
            self._table.delete(
                {"pk": keys.account_pk(account), "sk": keys.contact_sk(contact.email_key)},
                # A blocklisted contact is never deleted, nor one whose flag or data changed since the export.
                condition=f"{unchanged} AND #flag = :declined AND #sub = :subscribed",
                names={"#rev": "rev", "#flag": "flag_status", "#sub": "subscription_status"},
                values={
                    ":declined": str(FlagStatus.DECLINED),
                    ":subscribed": str(SubscriptionStatus.SUBSCRIBED),
                    **({":rev": contact.revision} if contact.revision is not None else {}),
                },
            )
        except ConditionFailedError as refused:
            if refused.current is not None:
                return DeleteOutcome.LEFT_CHANGED
            # Gone. Only a remediation deletes contacts, and it leaves a tombstone (and takes back the
            # one of a contact it finds gone): another remediation's means that one deleted it. Otherwise
            # this one did (an earlier attempt, or this very delete, whose answer was lost and whose retry
            # found the contact gone), and its tombstone stays.
            if self._deleted_by_another(account, contact.email_key, remediation_id):
                return DeleteOutcome.ALREADY_GONE
            return DeleteOutcome.DELETED
        return DeleteOutcome.DELETED

    def _deleted_by_another(self, account: str, email_key: str, remediation_id: str) -> bool:
        prefix = f"{keys.TOMBSTONE_SK_PREFIX}{keys.address_hash(email_key)}#"
        return any(
            not str(item["sk"]).endswith(f"#{remediation_id}")
            for item in self._table.query(
                "pk = :pk AND begins_with(sk, :prefix)",
                {":pk": keys.account_pk(account), ":prefix": prefix},
                projection=("sk",),
                consistent=True,
            )
        )

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        """BatchWriteItem, 25 requests a call; what DynamoDB leaves unprocessed (throttling) is sent again
        with exponential backoff (full jitter)."""
        for batch in batched(requests, BATCH_WRITE_LIMIT):
            pending: list[dict[str, Any]] = list(batch)
            for attempt in range(MAX_BATCH_ATTEMPTS):
                response = self._table.client.batch_write_item(RequestItems={self._table.name: pending})
                pending = response.get("UnprocessedItems", {}).get(self._table.name, [])
                if not pending:
                    break
                self._sleep(random.uniform(0, min(5.0, 0.05 * 2 ** (attempt + 1))))
            else:
                raise UnprocessedKeysError(f"{len(pending)} tombstone writes still unprocessed")

    @staticmethod
    def _tombstone_key(account: str, email_key: str, remediation_id: str) -> Item:
        return {
            "pk": keys.account_pk(account),
            "sk": keys.tombstone_sk(keys.address_hash(email_key), remediation_id),
        }

    def for_address(self, account: str, address: str) -> Iterator[Tombstone]:
        """The tombstones an address left in this account (one per remediation that deleted it)."""
        prefix = f"{keys.TOMBSTONE_SK_PREFIX}{keys.address_hash(address)}#"
        for item in self._table.query(
            "pk = :pk AND begins_with(sk, :prefix)",
            {":pk": keys.account_pk(account), ":prefix": prefix},
            consistent=True,
        ):
            yield Tombstone.model_validate(item)
