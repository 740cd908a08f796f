"""Contacts: one item per contact and account (``ACCOUNT#<account>`` / ``CONTACT#<email key>``), and the
account's suppressions (``SUPPRESSION#<email key>``: addresses blocklisted, contacts or not).

How an import writes its contacts, whatever runs at the same time (docs/architecture.md draws it):

- **Only one import of an account writes contacts at a time**: it holds the account's import lane
  (``AccountStore.acquire_lane``; the chunks of one import share it). So only imports create contacts,
  one at a time, and a contact that an import found absent can only have been created since by ...
  nobody: the import writes its new contacts with cheap BatchWriteItem puts.
- **A blocklist or an unsubscribe always wins.** Blocklisting writes the suppression first, then marks
  the contact (if there is one). An import reads each contact with its suppression; after its puts it
  reads the suppressions of the contacts it created again, and blocklists those that appeared in between.
- **Existing contacts are merged**, each write guarded by the contact's revision (``rev``): the import
  reads the contact, decides, and writes only if ``rev`` is still what it read; when another flow got
  there first, DynamoDB hands back the current item and the import decides again. The higher flag wins,
  the subscription is never touched, and attributes other flows write are kept.

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

#: Windows of contacts written at once. A window is a few round trips (~5-10 ms each on AWS); the
#: client's CPU, not DynamoDB, is the limit past a few threads.
WRITE_THREADS = 8
#: A contact that other writers keep changing is given up on after this many tries (an error: the
#: import is retried as a whole, and every merge is idempotent).
MAX_MERGE_ATTEMPTS = 10
#: DynamoDB items are at most 400 KB: the imported columns of one contact keep what fits in this budget.
ATTRIBUTES_BUDGET_BYTES = 256 * 1024

#: What a merge needs to know of the stored contact (and of a suppression: that it exists).
_MERGE_PROJECTION = (
    "pk",
    "sk",
    "rev",
    "flag_status",
    "subscription_status",
    "flagged_by",
    "attributes",
    "created_by",
)
#: Contacts per window: one BatchGetItem reads them and their suppressions (two keys each, 100 a call).
WINDOW = BATCH_GET_LIMIT // 2


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

    @property
    def creator(self) -> str:
        """What a contact created by this import's file records: a retry recognises its own creations."""
        return f"{self.import_id}#{self.etag}"


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

    # -- writes ---------------------------------------------------------------------------------------

    def merge_import(self, stamp: ImportStamp, writes: Iterable[ContactWrite]) -> MergeTally:
        """Write an import's contacts: create the new ones, merge into the others (see the module doc).
        The caller holds the account's import lane.

        Windows of 50 contacts are written by ``threads`` workers at once. Safe to repeat: a second run
        finds every contact and merges the same values again; the contacts the first run created still
        count as created by this import (``created_by``).
        """
        threads = self._threads or WRITE_THREADS
        tally = MergeTally()
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="merge") as pool:
            in_flight: set[Future[MergeTally]] = set()
            try:
                for window in batched(writes, WINDOW):
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
        account = stamp.account
        found = self._table.batch_get(
            [
                key
                for write in window
                for key in (_key(account, write.key), _suppression_key(account, write.key))
            ],
            projection=_MERGE_PROJECTION,
        )
        current = {
            keys.contact_key_of_sk(i["sk"]): i for i in found if i["sk"].startswith(keys.CONTACT_SK_PREFIX)
        }
        suppressed = {
            keys.suppressed_key_of_sk(i["sk"])
            for i in found
            if i["sk"].startswith(keys.SUPPRESSION_SK_PREFIX)
        }
        tally = MergeTally()
        new = [write for write in window if write.key not in current]
        if new:
            # Nobody else creates contacts while this import holds the lane: plain puts, 25 a call.
            self._table.batch_write([self._new_item(stamp, w, blocklisted=w.key in suppressed) for w in new])
            tally.created += len(new)
            # A blocklist that landed between the read and the puts: its suppression is there now.
            late = self._table.batch_get(
                [_suppression_key(account, w.key) for w in new if w.key not in suppressed], projection=("sk",)
            )
            for item in late:
                self._mark_blocklisted(account, keys.suppressed_key_of_sk(item["sk"]), now=stamp.now)
        for write in window:
            if write.key in current:
                self._merge_one(stamp, write, current[write.key], tally)
        return tally

    def _merge_one(
        self, stamp: ImportStamp, write: ContactWrite, current: Item | None, tally: MergeTally
    ) -> None:
        # A contact an earlier attempt of this very import created still counts as created by it.
        created_here = current is not None and current.get("created_by") == stamp.creator
        for _ in range(MAX_MERGE_ATTEMPTS):
            try:
                if current is None:
                    self._create(stamp, write)
                    created_here = True
                else:
                    self._merge_into(stamp, write, current)
                if created_here:
                    tally.created += 1
                else:
                    tally.merged += 1
                return
            except ConditionFailedError as changed:
                tally.conflicts += 1
                current = changed.current
        raise ContactContentionError(
            f"contact of row {write.row} changed under {MAX_MERGE_ATTEMPTS} attempts"
        )

    def _create(self, stamp: ImportStamp, write: ContactWrite) -> None:
        """A contact that vanished while it was merged into (deleted meanwhile): create it, conditionally."""
        self._table.put(self._new_item(stamp, write, blocklisted=False), condition="attribute_not_exists(pk)")

    def _new_item(self, stamp: ImportStamp, write: ContactWrite, *, blocklisted: bool) -> Item:
        blocklisted = blocklisted or write.verdict is Verdict.BLOCKLISTED
        subscription = SubscriptionStatus.BLOCKLISTED if blocklisted else SubscriptionStatus.SUBSCRIBED
        return {
            **_key(stamp.account, write.key),
            "type": "contact",
            "account": stamp.account,
            "email": write.email,
            "email_key": write.key,
            "attributes": fit_attributes({}, write.attributes),
            "subscription_status": str(subscription),
            "created_at": stamp.now,
            "created_by": stamp.creator,
            "rev": 1,
            **_import_fields(stamp, write),
            **_flag_fields(stamp, write.key, stamp.flag),
        }

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

    def resolve_review(self, account: str, import_id: str, flag: FlagStatus, *, now: str) -> int:
        """An operator's decision on an import in review: the contacts it holds ``pending`` become
        ``flag`` (``none``: sendable, out of the indexes; or ``declined``). Contacts whose flag another
        flow raised meanwhile keep it (the write is guarded by their revision). Returns how many moved."""
        moved = 0
        for contact in self.flagged_by(account, import_id):
            current: Item | None = contact.model_dump(mode="json")
            for _ in range(MAX_MERGE_ATTEMPTS):
                if current is None or current.get("flag_status") != FlagStatus.PENDING:
                    break
                if current.get("flagged_by") != import_id:
                    break
                try:
                    self._resolve_one(account, contact.email_key, int(current.get("rev", 0)), flag, now)
                    moved += 1
                    break
                except ConditionFailedError as changed:
                    current = changed.current
        return moved

    def _resolve_one(self, account: str, contact_key: str, revision: int, flag: FlagStatus, now: str) -> None:
        update, values = flag_resolution(account, flag, now)
        self._table.update(
            _key(account, contact_key),
            update=update,
            condition="#rev = :rev",
            names={"#rev": "rev"},
            values={**values, ":rev": revision, ":next": revision + 1},
        )

    def blocklist(self, account: str, address: str, *, now: str, reason: str) -> Contact | None:
        """Blocklist an address: its suppression first (it holds whether or not the address is a contact
        yet: an import creates it blocklisted), then the contact, if there is one (None otherwise).
        Always wins: an atomic update that bumps ``rev``, so an import merging at the same time decides
        again, and an import creating it at the same time finds the suppression after its put."""
        key = keys.contact_key(address)
        self._table.update(
            _suppression_key(account, key),
            update=(
                "SET #type = :type, account = :account, email = if_not_exists(email, :email), "
                "reason = :reason, suppressed_at = if_not_exists(suppressed_at, :now)"
            ),
            names={"#type": "type"},
            values={
                ":type": "suppression",
                ":account": account,
                ":email": address.strip(),
                ":reason": reason,
                ":now": now,
            },
        )
        return self._mark_blocklisted(account, key, now=now, reason=reason)

    def _mark_blocklisted(
        self, account: str, key: str, *, now: str, reason: str | None = None
    ) -> Contact | None:
        try:
            item = self._table.update(
                _key(account, key),
                update="SET #sub = :blocklisted, blocklisted_at = if_not_exists(blocklisted_at, :now), "
                "blocklist_reason = if_not_exists(blocklist_reason, :reason), updated_at = :now "
                "ADD #rev :one",
                condition="attribute_exists(pk)",
                names={"#sub": "subscription_status", "#rev": "rev"},
                values={
                    ":blocklisted": str(SubscriptionStatus.BLOCKLISTED),
                    ":now": now,
                    ":reason": reason or "suppressed",
                    ":one": 1,
                },
                returns="ALL_NEW",
            )
        except ConditionFailedError:
            return None  # not a contact (yet): the suppression is enough
        return _contact(item)

    def blocklisted_among(self, account: str, contact_keys: Sequence[str]) -> set[str]:
        """Which of these addresses (normalised) are blocklisted: a blocklisted contact or a suppression.
        Reads proportional to the file, not the account: the verification check's blocklist. Eventually
        consistent (half the price): a verdict is advice; the writes read each contact again, consistently.
        Windows of 50 addresses are read by ``threads`` workers at once."""
        windows = [contact_keys[i : i + WINDOW] for i in range(0, len(contact_keys), WINDOW)]
        with ThreadPoolExecutor(
            max_workers=self._threads or WRITE_THREADS, thread_name_prefix="lookup"
        ) as pool:
            found = [
                item
                for items in pool.map(lambda w: self._blocklist_window(account, w), windows)
                for item in items
            ]
        blocklisted = set()
        for item in found:
            if item["sk"].startswith(keys.SUPPRESSION_SK_PREFIX):
                blocklisted.add(keys.suppressed_key_of_sk(item["sk"]))
            elif item.get("subscription_status") == SubscriptionStatus.BLOCKLISTED:
                blocklisted.add(keys.contact_key_of_sk(item["sk"]))
        return blocklisted

    def _blocklist_window(self, account: str, window: Sequence[str]) -> Sequence[Item]:
        return self._table.batch_get(
            [k for key in window for k in (_key(account, key), _suppression_key(account, key))],
            projection=("sk", "subscription_status"),
            consistent=False,
        )


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


def _suppression_key(account: str, contact_key: str) -> dict[str, str]:
    return {"pk": keys.account_pk(account), "sk": keys.suppression_sk(contact_key)}


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


def flag_resolution(account: str, flag: FlagStatus, now: str) -> tuple[str, Item]:
    """The update that gives a held contact its outcome, guarded by the caller on ``#rev = :rev`` (with
    ``:next``): ``none`` leaves every index (sendable contacts are in none), any other flag moves its
    flag-index partition and keeps the by-import entry."""
    if flag is FlagStatus.NONE:
        update = (
            "SET flag_status = :flag, updated_at = :now, #rev = :next "
            "REMOVE flagged_by, gsi1pk, gsi1sk, gsi2pk, gsi2sk"
        )
        return update, {":flag": str(flag), ":now": now}
    update = "SET flag_status = :flag, gsi1pk = :gsi1pk, updated_at = :now, #rev = :next"
    return update, {":flag": str(flag), ":now": now, ":gsi1pk": keys.flag_index_pk(account, flag)}
