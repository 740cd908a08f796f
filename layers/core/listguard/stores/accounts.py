"""Account profiles (``ACCOUNT#<account>`` / ``PROFILE``): the list size, and what a check reads."""

from __future__ import annotations

from dataclasses import dataclass

from listguard.domain import keys
from listguard.domain.models import AccountProfile
from listguard.stores.contacts import ContactStore
from listguard.stores.dynamo import Table


@dataclass(frozen=True)
class AccountSnapshot:
    """What a check needs to know about the account before it starts."""

    contact_count: int
    #: The addresses of blocklisted contacts, as stored: the engine normalises them as it does rows.
    blocklist: frozenset[str]


class AccountStore:
    def __init__(self, table: Table, contacts: ContactStore) -> None:
        self._table = table
        self._contacts = contacts

    def get(self, account: str) -> AccountProfile:
        item = self._table.get({"pk": keys.account_pk(account), "sk": keys.PROFILE_SK})
        return AccountProfile.model_validate(item or {"account": account})

    def snapshot(self, account: str) -> AccountSnapshot:
        return AccountSnapshot(
            contact_count=self._contacts.count(account),
            blocklist=self._contacts.blocklisted_addresses(account),
        )

    def refresh_contact_count(self, account: str, *, now: str) -> int:
        """Recount the account's contacts into its profile (exact and idempotent)."""
        count = self._contacts.count(account)
        self._table.update(
            {"pk": keys.account_pk(account), "sk": keys.PROFILE_SK},
            update="SET contact_count = :count, updated_at = :now, #type = :type, account = :account",
            names={"#type": "type"},
            values={":count": count, ":now": now, ":type": "profile", ":account": account},
        )
        return count
