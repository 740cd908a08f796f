"""What campaigns write on contacts: a hold for a verification check, and engagement.

The contacts' own rules (stores/contacts.py) hold here too: every write is conditional on what was
read (the revision, or the flag and subscription) and bumps ``rev``, so a writer racing on the same
contact (an import merging, a blocklist) decides again. A hold only ever raises a flag (``none`` ->
``pending``); engagement only ever moves ``last_open_at`` / ``last_click_at`` forward.
"""

from __future__ import annotations

from enum import StrEnum

from listguard.domain import keys
from listguard.domain.vocabulary import FlagStatus, SubscriptionStatus
from listguard.stores.contacts import flag_resolution
from listguard.stores.dynamo import ConditionFailedError, Item, Table

#: A contact that other writers keep changing is given up on after this many tries.
MAX_HOLD_ATTEMPTS = 10


class Hold(StrEnum):
    HELD = "held"
    #: Held for this check already (a replayed step).
    ALREADY = "already"
    #: Mailed meanwhile, flagged by someone else, blocklisted or gone: not this check's to hold.
    SKIPPED = "skipped"


class Engagement(StrEnum):
    OPEN = "last_open_at"
    CLICK = "last_click_at"


class CampaignContacts:
    def __init__(self, table: Table) -> None:
        self._table = table

    def hold_for_check(self, account: str, contact: Item, *, check_import_id: str, now: str) -> Hold:
        """Flag a never-mailed sendable contact ``pending``, held by the import that checks it: the
        contact is in both sparse indexes, as an import's pending contact is, so that import's
        outcome and an operator's decision on it reach the contact. ``contact`` is the item as read."""
        current: Item | None = contact
        contact_key = keys.contact_key_of_sk(contact["sk"])
        for _ in range(MAX_HOLD_ATTEMPTS):
            if current is None:
                return Hold.SKIPPED
            if (
                current.get("flag_status") == FlagStatus.PENDING
                and current.get("flagged_by") == check_import_id
            ):
                return Hold.ALREADY
            if (
                current.get("flag_status", FlagStatus.NONE) != FlagStatus.NONE
                or current.get("subscription_status") != SubscriptionStatus.SUBSCRIBED
                or "last_mailed_at" in current
            ):
                return Hold.SKIPPED
            revision = int(current.get("rev", 0))
            try:
                self._table.update(
                    {"pk": keys.account_pk(account), "sk": contact["sk"]},
                    update=(
                        "SET flag_status = :pending, flagged_by = :check, gsi1pk = :gsi1pk, gsi1sk = :key, "
                        "gsi2pk = :gsi2pk, gsi2sk = :key, updated_at = :now, #rev = :next"
                    ),
                    condition="#rev = :rev AND flag_status = :none AND attribute_not_exists(last_mailed_at)",
                    names={"#rev": "rev"},
                    values={
                        ":pending": str(FlagStatus.PENDING),
                        ":none": str(FlagStatus.NONE),
                        ":check": check_import_id,
                        ":gsi1pk": keys.flag_index_pk(account, FlagStatus.PENDING),
                        ":gsi2pk": keys.flagged_by_index_pk(account, check_import_id),
                        ":key": contact_key,
                        ":now": now,
                        ":rev": revision,
                        ":next": revision + 1,
                    },
                )
                return Hold.HELD
            except ConditionFailedError as changed:
                current = changed.current
        raise RuntimeError(f"a contact changed under {MAX_HOLD_ATTEMPTS} attempts to hold it")

    def settle_held(
        self, account: str, contact: Item, *, check_import_id: str, flag: FlagStatus, now: str
    ) -> bool:
        """A contact this check holds ``pending`` gets its own outcome: ``none`` (sendable, out of the
        indexes) or ``declined`` (the sparse declined partition, still found by the check import). False
        when it is not pending for this check any more (the write is guarded by its revision)."""
        current: Item | None = contact
        contact_key = keys.contact_key_of_sk(contact["sk"])
        for _ in range(MAX_HOLD_ATTEMPTS):
            if current is None or current.get("flag_status") != FlagStatus.PENDING:
                return False
            if current.get("flagged_by") != check_import_id:
                return False
            revision = int(current.get("rev", 0))
            update, values = flag_resolution(account, flag, now)
            try:
                self._table.update(
                    {"pk": keys.account_pk(account), "sk": keys.contact_sk(contact_key)},
                    update=update,
                    condition="#rev = :rev",
                    names={"#rev": "rev"},
                    values={**values, ":rev": revision, ":next": revision + 1},
                )
                return True
            except ConditionFailedError as changed:
                current = changed.current
        raise RuntimeError(f"a contact changed under {MAX_HOLD_ATTEMPTS} attempts to settle it")

    def record_engagement(self, account: str, address: str, kind: Engagement, at: str) -> bool:
        """An open or a click (an SES event): kept on the contact as ``last_open_at`` / ``last_click_at``
        (remediation's clean step reads them). Only ever moves forward; False when it was not newer (or
        there is no such contact)."""
        try:
            self._table.update(
                {"pk": keys.account_pk(account), "sk": keys.contact_sk(keys.contact_key(address))},
                update="SET #field = :at ADD #rev :one",
                condition="attribute_exists(pk) AND (attribute_not_exists(#field) OR #field < :at)",
                names={"#field": str(kind), "#rev": "rev"},
                values={":at": at, ":one": 1},
            )
        except ConditionFailedError:
            return False
        return True
