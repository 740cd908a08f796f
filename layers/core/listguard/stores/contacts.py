"""Contacts: one item per contact and account (``ACCOUNT#<account>`` / ``CONTACT#<email key>``).

Every write of a contact is a merge guarded by its revision (``rev``): a writer reads the contact,
decides, and writes only if ``rev`` is still what it read, bumping it; when another writer got there
first, DynamoDB hands back the current item and the writer decides again. So whatever runs at the
same time, an import

- never lowers a flag (the higher of the contact's flag and the import's wins),
- never touches the subscription (a blocklist or an unsubscribe always wins),
- keeps every attribute it does not write (other flows' engagement, consent, ...).

Indexes are sparse: only flagged contacts carry the keys of gsi1 (by flag) and gsi2 (by the import
that flagged them), so a sendable contact costs no index writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import batched
from typing import Any

from listguard.domain import keys
from listguard.domain.models import Contact
from listguard.domain.vocabulary import FlagStatus, SubscriptionStatus, Verdict, higher_flag
from listguard.stores.dynamo import BATCH_GET_LIMIT, ConditionFailedError, Item, Table

#: Per-item writes in flight at once. A write is one round trip (~5-10 ms on AWS); the client's CPU,
#: not DynamoDB, is the limit past a few threads.
WRITE_THREADS = 8
#: A contact that other writers keep changing is given up on after this many tries (an error: the
#: import is retried as a whole, and every merge is idempotent).
MAX_MERGE_ATTEMPTS = 10
#: DynamoDB items are at most 400 KB: the imported columns of one contact keep what fits in this budget.
ATTRIBUTES_BUDGET_BYTES = 256 * 1024

#: What a merge needs to know of the stored contact.
_MERGE_PROJECTION = ("pk", "sk", "rev", "flag_status", "subscription_status", "flagged_by", "attributes")


class ContactContentionError(RuntimeError):
    """A contact changed under every attempt to merge into it."""


@dataclass(frozen=True)
class ContactWrite:
    """What an import writes of one importable row."""

    email: str
    attributes: dict[str, str]
    verdict: Verdict
    row: int

    @property
    def key(self) -> str:
        return keys.contact_key(self.email)


@dataclass(frozen=True)
class ImportStamp:
    """Which import writes, with which flag, and when."""

    account: str
    import_id: str
    etag: str
    flag: FlagStatus
    now: str


@dataclass
class MergeTally:
    """What a merge did: contacts it created, and contacts that were there and it merged into."""

    created: int = 0
    merged: int = 0
    #: Writes that found the contact changed by someone else in between, and decided again.
    conflicts: int = 0

    @property
    def written(self) -> int:
        return self.created + self.merged

    def add(self, other: MergeTally) -> None:
        self.created += other.created
        self.merged += other.merged
        self.conflicts += other.conflicts


class ContactStore:
    def __init__(self, table: Table, *, threads: int | None = None) -> None:
        self._table = table
        self._threads = threads

    # -- reads ----------------------------------------------------------------------------------------

    def get(self, account: str, address: str) -> Contact | None:
        item = self._table.get(_key(account, keys.contact_key(address)))
        return _contact(item) if item else None

    def list(
        self,
        account: str,
        *,
        flag: FlagStatus | None = None,
        subscription: SubscriptionStatus | None = None,
        limit: int | None = None,
    ) -> Iterator[Contact]:
        """The account's contacts, page by page; by flag from the sparse flag index."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        filters = []
        if subscription is not None:
            names["#sub"] = "subscription_status"
            values[":sub"] = str(subscription)
            filters.append("#sub = :sub")
        if flag in (FlagStatus.PENDING, FlagStatus.DECLINED):
            values[":pk"] = keys.flag_index_pk(account, flag)
            items = self._table.query(
                "gsi1pk = :pk",
                values,
                names=names or None,
                index="gsi1",
                filter_expression=" AND ".join(filters) or None,
                limit=limit,
            )
        else:
            if flag is FlagStatus.NONE:
                names["#flag"] = "flag_status"
                values[":flag"] = str(FlagStatus.NONE)
                filters.append("#flag = :flag")
            values |= {":pk": keys.account_pk(account), ":prefix": keys.CONTACT_SK_PREFIX}
            items = self._table.query(
                "pk = :pk AND begins_with(sk, :prefix)",
                values,
                names=names or None,
                filter_expression=" AND ".join(filters) or None,
                limit=limit,
            )
        for item in items:
            yield _contact(item)

    def flagged_by(self, account: str, import_id: str) -> Iterator[Contact]:
        """The contacts whose current flag this import set (gsi2; eventually consistent)."""
        for item in self._table.query(
            "gsi2pk = :pk", {":pk": keys.flagged_by_index_pk(account, import_id)}, index="gsi2"
        ):
            yield _contact(item)

    def count_by_flag(self, account: str, flag: FlagStatus) -> int:
        return self._table.count("gsi1pk = :pk", {":pk": keys.flag_index_pk(account, flag)}, index="gsi1")

    def count(self, account: str) -> int:
        """Every contact of the account (a strongly consistent count over its items)."""
        return self._table.count(
            "pk = :pk AND begins_with(sk, :prefix)",
            {":pk": keys.account_pk(account), ":prefix": keys.CONTACT_SK_PREFIX},
        )

    def blocklisted_addresses(self, account: str) -> frozenset[str]:
        """The addresses of the account's blocklisted contacts (read over the account's contacts)."""
        items = self._table.query(
            "pk = :pk AND begins_with(sk, :prefix)",
            {
                ":pk": keys.account_pk(account),
                ":prefix": keys.CONTACT_SK_PREFIX,
                ":blocklisted": str(SubscriptionStatus.BLOCKLISTED),
            },
            names={"#sub": "subscription_status"},
            filter_expression="#sub = :blocklisted",
            projection=("email",),
            consistent=True,
        )
        return frozenset(item["email"] for item in items)

    # -- writes ---------------------------------------------------------------------------------------

    def merge_import(self, stamp: ImportStamp, writes: Iterable[ContactWrite]) -> MergeTally:
        """Write an import's contacts: create the new ones, merge into the others (see the module doc).

        Windows of 100 contacts (one BatchGetItem each) are merged by ``threads`` workers at once.
        Safe to repeat: a second run finds every contact and merges the same values again.
        """
        threads = self._threads or WRITE_THREADS
        tally = MergeTally()
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="merge") as pool:
            in_flight: set[Future[MergeTally]] = set()
            try:
                for window in batched(writes, BATCH_GET_LIMIT):
                    if len(in_flight) >= 2 * threads:  # bounded: ``writes`` may stream millions
                        done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                        for future in done:
                            tally.add(future.result())
                    in_flight.add(pool.submit(self._merge_window, stamp, window))
                done, in_flight = wait(in_flight)
                for future in done:
                    tally.add(future.result())
            finally:
                for future in in_flight:
                    future.cancel()  # after an error: windows not started are not written
        return tally

    def _merge_window(self, stamp: ImportStamp, window: Sequence[ContactWrite]) -> MergeTally:
        current = {
            keys.contact_key_of_sk(item["sk"]): item
            for item in self._table.batch_get(
                [_key(stamp.account, write.key) for write in window], projection=_MERGE_PROJECTION
            )
        }
        tally = MergeTally()
        for write in window:
            self._merge_one(stamp, write, current.get(write.key), tally)
        return tally

    def _merge_one(
        self, stamp: ImportStamp, write: ContactWrite, current: Item | None, tally: MergeTally
    ) -> None:
        for _ in range(MAX_MERGE_ATTEMPTS):
            try:
                if current is None:
                    self._create(stamp, write)
                    tally.created += 1
                else:
                    self._merge_into(stamp, write, current)
                    tally.merged += 1
                return
            except ConditionFailedError as changed:
                tally.conflicts += 1
                current = changed.current
        raise ContactContentionError(
            f"contact of row {write.row} changed under {MAX_MERGE_ATTEMPTS} attempts"
        )

    def _create(self, stamp: ImportStamp, write: ContactWrite) -> None:
        subscription = (
            SubscriptionStatus.BLOCKLISTED
            if write.verdict is Verdict.BLOCKLISTED
            else SubscriptionStatus.SUBSCRIBED
        )
        item: Item = {
            **_key(stamp.account, write.key),
            "type": "contact",
            "account": stamp.account,
            "email": write.email,
            "email_key": write.key,
            "attributes": fit_attributes({}, write.attributes),
            "subscription_status": str(subscription),
            "created_at": stamp.now,
            "rev": 1,
            **_import_fields(stamp, write),
            **_flag_fields(stamp, write.key, stamp.flag),
        }
        self._table.put(item, condition="attribute_not_exists(pk)")

    def _merge_into(self, stamp: ImportStamp, write: ContactWrite, current: Item) -> None:
        flag = higher_flag(current.get("flag_status", FlagStatus.NONE), stamp.flag)
        fields: Item = {
            "email": write.email,
            "attributes": fit_attributes(current.get("attributes") or {}, write.attributes),
            **_import_fields(stamp, write),
        }
        if flag != current.get("flag_status"):
            fields |= _flag_fields(stamp, write.key, flag)
        revision = int(current.get("rev", 0))
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":f{i}": value for i, value in enumerate(fields.values())}
        assignments = ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
        self._table.update(
            _key(stamp.account, write.key),
            update=f"SET {assignments}, #rev = :next",
            condition="attribute_exists(pk) AND "
            + ("#rev = :rev" if "rev" in current else "attribute_not_exists(#rev)"),
            names={**names, "#rev": "rev"},
            values={**values, ":next": revision + 1, **({":rev": revision} if "rev" in current else {})},
        )

    def blocklist(self, account: str, address: str, *, now: str, reason: str) -> Contact:
        """Blocklist an address (creating a blocklisted contact if it has none). Always wins: an atomic
        update that bumps ``rev``, so an import merging at the same time decides again."""
        key = keys.contact_key(address)
        item = self._table.update(
            _key(account, key),
            update=(
                "SET #sub = :blocklisted, blocklisted_at = :now, blocklist_reason = :reason, "
                "updated_at = :now, #type = :type, account = :account, email = if_not_exists(email, :email), "
                "email_key = :key, attributes = if_not_exists(attributes, :empty), "
                "flag_status = if_not_exists(flag_status, :none), "
                "created_at = if_not_exists(created_at, :now) ADD #rev :one"
            ),
            names={"#sub": "subscription_status", "#type": "type", "#rev": "rev"},
            values={
                ":blocklisted": str(SubscriptionStatus.BLOCKLISTED),
                ":now": now,
                ":reason": reason,
                ":type": "contact",
                ":account": account,
                ":email": address.strip(),
                ":key": key,
                ":empty": {},
                ":none": str(FlagStatus.NONE),
                ":one": 1,
            },
            returns="ALL_NEW",
        )
        return _contact(item)


def fit_attributes(stored: dict[str, str], imported: dict[str, str]) -> dict[str, str]:
    """The stored columns updated with the imported ones, within ``ATTRIBUTES_BUDGET_BYTES``: the
    imported columns first, then the stored ones that still fit (a contact stays writable)."""
    merged: dict[str, str] = {}
    budget = ATTRIBUTES_BUDGET_BYTES
    for name, value in [*imported.items(), *((n, v) for n, v in stored.items() if n not in imported)]:
        size = len(name.encode()) + len(str(value).encode())
        if size <= budget:
            budget -= size
            merged[name] = value
    return merged


def _key(account: str, contact_key: str) -> dict[str, str]:
    return {"pk": keys.account_pk(account), "sk": keys.contact_sk(contact_key)}


def _import_fields(stamp: ImportStamp, write: ContactWrite) -> Item:
    return {
        "import_id": stamp.import_id,
        "import_etag": stamp.etag,
        "verdict": str(write.verdict),
        "row": write.row,
        "updated_at": stamp.now,
    }


def _flag_fields(stamp: ImportStamp, contact_key: str, flag: FlagStatus) -> Item:
    """The flag and the sparse index keys that follow it (a sendable contact is in no index)."""
    if flag is FlagStatus.NONE:
        return {"flag_status": str(flag)}
    return {
        "flag_status": str(flag),
        "flagged_by": stamp.import_id,
        "gsi1pk": keys.flag_index_pk(stamp.account, flag),
        "gsi1sk": contact_key,
        "gsi2pk": keys.flagged_by_index_pk(stamp.account, stamp.import_id),
        "gsi2sk": contact_key,
    }


def _contact(item: Item) -> Contact:
    return Contact.model_validate(
        {**item, "account": item.get("account") or item["pk"].removeprefix("ACCOUNT#")}
    )
