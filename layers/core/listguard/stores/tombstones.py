"""Tombstones (``ACCOUNT#<account>`` / ``TOMBSTONE#<address hash>#<remediation id>``): what is left of a
contact that a remediation deleted. The SHA-256 of its normalised address, the reason and the date, and
nothing else of the contact: no address, no name, no column it was imported with.

A contact is deleted only if it is still exactly as exported (its revision), declined and subscribed.
Its tombstone is written first, then the contact deleted; when the delete finds the contact changed
(or gone), the tombstone is taken back. So a contact is never gone without its tombstone, and a crash
anywhere leaves a state that the retry completes: the retry finds its own tombstone (written before)
and either deletes the contact or takes the tombstone back. Two plain writes cost less than a
transaction (4 write units with the contact's two index entries, instead of 6), and a transaction's
atomicity is not needed for that.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from listguard.domain import keys
from listguard.domain.vocabulary import FlagStatus, SubscriptionStatus
from listguard.stores.dynamo import ConditionFailedError, Table, serialize


class DeleteOutcome(StrEnum):
    DELETED = "deleted"
    #: The contact changed since the export (its revision, flag or subscription): left as it is.
    LEFT_CHANGED = "left_changed"
    #: No such contact any more, deleted by someone else.
    ALREADY_GONE = "already_gone"


class Tombstone(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    address_hash: str
    reason: str
    deleted_on: str


class TombstoneStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def delete_contact(
        self,
        account: str,
        email_key: str,
        revision: int | None,
        *,
        remediation_id: str,
        reason: str,
        deleted_on: str,
    ) -> DeleteOutcome:
        """Delete the contact if it is still exactly as exported, leaving its tombstone (safe to repeat)."""
        contact_key = {"pk": keys.account_pk(account), "sk": keys.contact_sk(email_key)}
        hashed = keys.address_hash(email_key)
        tombstone_key = {"pk": keys.account_pk(account), "sk": keys.tombstone_sk(hashed, remediation_id)}
        before = self._table.client.put_item(
            TableName=self._table.name,
            Item=serialize(
                {
                    **tombstone_key,
                    "type": "tombstone",
                    "address_hash": hashed,
                    "reason": reason,
                    "deleted_on": deleted_on,
                }
            ),
            ReturnValues="ALL_OLD",
        )
        written_before = "Attributes" in before  # by an earlier attempt of this remediation
        unchanged = "#rev = :rev" if revision is not None else "attribute_not_exists(#rev)"
        try:
            self._table.delete(
                contact_key,
                # A blocklisted contact is never deleted, nor one whose flag or data changed since the export.
                condition=f"{unchanged} AND #flag = :declined AND #sub = :subscribed",
                names={"#rev": "rev", "#flag": "flag_status", "#sub": "subscription_status"},
                values={
                    ":declined": str(FlagStatus.DECLINED),
                    ":subscribed": str(SubscriptionStatus.SUBSCRIBED),
                    **({":rev": revision} if revision is not None else {}),
                },
            )
        except ConditionFailedError as refused:
            if refused.current is None and written_before:
                return DeleteOutcome.DELETED  # an earlier attempt deleted it after writing the tombstone
            self._table.delete(tombstone_key)  # not deleted by this remediation: no tombstone
            return DeleteOutcome.ALREADY_GONE if refused.current is None else DeleteOutcome.LEFT_CHANGED
        return DeleteOutcome.DELETED

    def for_address(self, account: str, address: str) -> Iterator[Tombstone]:
        """The tombstones an address left in this account (one per remediation that deleted it)."""
        prefix = f"{keys.TOMBSTONE_SK_PREFIX}{keys.address_hash(address)}#"
        for item in self._table.query(
            "pk = :pk AND begins_with(sk, :prefix)",
            {":pk": keys.account_pk(account), ":prefix": prefix},
            consistent=True,
        ):
            yield Tombstone.model_validate(item)

    def count(self, account: str) -> int:
        return self._table.count(
            "pk = :pk AND begins_with(sk, :prefix)",
            {":pk": keys.account_pk(account), ":prefix": keys.TOMBSTONE_SK_PREFIX},
        )
