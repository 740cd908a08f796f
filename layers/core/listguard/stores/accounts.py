"""Account profiles (``ACCOUNT#<account>`` / ``PROFILE``) and their audit trail (``AUDIT#...``).

The profile holds where notifications go, the list size and the standing. Every standing change is
written in one transaction with its audit entry (who, when, why), so neither exists without the other.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from listguard.domain import keys
from listguard.domain.models import AccountProfile, AuditEntry
from listguard.domain.standing import StandingPolicy
from listguard.domain.vocabulary import AccountStanding
from listguard.stores.contacts import ContactStore
from listguard.stores.dynamo import ConditionFailedError, Table, TransactionConflictError

#: A standing update that keeps losing its race to other writers is given up after this many tries.
MAX_STANDING_ATTEMPTS = 10


@dataclass(frozen=True)
class StandingChange:
    before: AccountStanding
    after: AccountStanding
    recent_declines: int

    @property
    def changed(self) -> bool:
        return self.before is not self.after


class AccountStore:
    def __init__(self, table: Table, contacts: ContactStore) -> None:
        self._table = table
        self._contacts = contacts

    def get(self, account: str) -> AccountProfile:
        item = self._table.get(_profile_key(account))
        return AccountProfile.model_validate(item or {"account": account})

    # -- the import lane: one import of an account writes contacts at a time ---------------------------

    def acquire_lane(self, account: str, holder: str, *, lease_seconds: int, now: datetime) -> bool:
        """Take (or keep) the account's import lane for ``holder`` (an import's delivery: its chunks share
        it) until ``lease_seconds`` from ``now``. False while another import holds it; a holder that died
        loses it when its lease runs out (a lease is how long its invocation can still run)."""
        moment = int(now.timestamp())
        try:
            self._table.update(
                _profile_key(account),
                update="SET lane_holder = :holder, lane_expires_at = :expires, #type = :type, "
                "account = :account",
                condition="attribute_not_exists(lane_holder) OR lane_holder = :holder "
                "OR lane_expires_at < :now",
                names={"#type": "type"},
                values={
                    ":holder": holder,
                    ":expires": moment + lease_seconds,
                    ":now": moment,
                    ":type": "profile",
                    ":account": account,
                },
            )
        except ConditionFailedError:
            return False
        return True

    def release_lane(self, account: str, holder: str) -> None:
        """Give the lane back (idempotent; a lane another holder took since is left alone)."""
        with contextlib.suppress(ConditionFailedError):
            self._table.update(
                _profile_key(account),
                update="REMOVE lane_holder, lane_expires_at",
                condition="lane_holder = :holder",
                values={":holder": holder},
            )

    def set_email(self, account: str, email: str, *, now: str) -> AccountProfile:
        """Where the account's notifications go (the customer's own address)."""
        item = self._table.update(
            _profile_key(account),
            update="SET email = :email, updated_at = :now, #type = :type, account = :account",
            names={"#type": "type"},
            values={":email": email, ":now": now, ":type": "profile", ":account": account},
            returns="ALL_NEW",
        )
        return AccountProfile.model_validate(item)

    def recount(self, account: str, *, now: str) -> int:
        """Count the account's contacts again into its profile (an operator's repair: it reads the whole
        account; the counter is otherwise kept exact by every import and deletion)."""
        count = self._contacts.count(account)
        self._table.update(
            _profile_key(account),
            update="SET contact_count = :count, updated_at = :now, #type = :type, account = :account",
            names={"#type": "type"},
            values={":count": count, ":now": now, ":type": "profile", ":account": account},
        )
        return count

    # -- standing -------------------------------------------------------------------------------------

    def record_decline(
        self, account: str, import_id: str, *, declined_at: str, now: datetime, policy: StandingPolicy
    ) -> StandingChange:
        """Count a declined import (once, however often it is recorded) and update the standing.

        Found counted already (a retried step, or this very write sent twice), it changes nothing and
        returns the change that counting it made, so the caller can still tell the customer about it
        (that notification is idempotent)."""

        def counted(profile: AccountProfile) -> StandingChange | None:
            if import_id not in profile.declines:
                return None
            others = {other: at for other, at in profile.declines.items() if other != import_id}
            reset_at = profile.standing_reset_at
            return StandingChange(
                policy.standing(others, now=now, reset_at=reset_at),
                policy.standing(profile.declines, now=now, reset_at=reset_at),
                policy.recent_declines(profile.declines, now=now, reset_at=reset_at),
            )

        def change(profile: AccountProfile) -> tuple[dict[str, str], str | None, str, str]:
            declines = {**profile.declines, import_id: declined_at}
            why = f"import {import_id} was declined"
            return declines, profile.standing_reset_at, why, "listguard"

        return self._update_standing(
            account, now=now, policy=policy, event=f"decline:{import_id}", change=change, done=counted
        )

    def reset_standing(
        self, account: str, *, note: str, operator: str, now: datetime, policy: StandingPolicy
    ) -> StandingChange:
        """An operator puts the account back in good standing: earlier declines no longer count."""

        def change(profile: AccountProfile) -> tuple[dict[str, str], str | None, str, str]:
            return dict(profile.declines), now.isoformat(), note, operator

        return self._update_standing(
            account,
            now=now,
            policy=policy,
            event=f"reset:{now.isoformat()}",
            change=change,
            always_audit=True,
        )

    def audit_trail(self, account: str, *, limit: int | None = None) -> Iterator[AuditEntry]:
        """Newest first."""
        for item in self._table.query(
            "pk = :pk AND begins_with(sk, :prefix)",
            {":pk": keys.account_pk(account), ":prefix": keys.AUDIT_SK_PREFIX},
            consistent=True,
            forward=False,
            limit=limit,
        ):
            yield AuditEntry.model_validate(item)

    def _update_standing(
        self,
        account: str,
        *,
        now: datetime,
        policy: StandingPolicy,
        event: str,
        change: Any,
        always_audit: bool = False,
        done: Callable[[AccountProfile], StandingChange | None] | None = None,
    ) -> StandingChange:
        for _ in range(MAX_STANDING_ATTEMPTS):
            profile = self.get(account)
            if done is not None and (already := done(profile)) is not None:
                return already  # the change was made already: by an earlier attempt, or this one
            declines, reset_at, why, who = change(profile)
            after = policy.standing(declines, now=now, reset_at=reset_at)
            result = StandingChange(
                profile.standing, after, policy.recent_declines(declines, now=now, reset_at=reset_at)
            )
            if declines == profile.declines and reset_at == profile.standing_reset_at and not always_audit:
                return StandingChange(profile.standing, profile.standing, result.recent_declines)
            operations: list[dict[str, Any]] = [
                {
                    "update": _profile_key(account),
                    "expression": "SET declines = :declines, standing = :standing, "
                    "standing_reset_at = :reset, updated_at = :now, #type = :type, account = :account, "
                    "#rev = :next",
                    "condition": "attribute_not_exists(#rev) OR #rev = :rev",
                    "names": {"#type": "type", "#rev": "rev"},
                    "values": {
                        ":declines": declines,
                        ":standing": str(after),
                        ":reset": reset_at,
                        ":now": now.isoformat(),
                        ":type": "profile",
                        ":account": account,
                        ":rev": profile.rev,
                        ":next": profile.rev + 1,
                    },
                }
            ]
            if result.changed or always_audit:
                entry = AuditEntry(
                    account=account,
                    at=now.isoformat(),
                    who=who,
                    why=why,
                    standing_before=result.before,
                    standing_after=result.after,
                )
                operations.append(
                    {
                        "put": {
                            "pk": keys.account_pk(account),
                            "sk": keys.audit_sk(now.isoformat(), _digest(event)),
                            "type": "audit",
                            **entry.model_dump(mode="json"),
                        },
                        "condition": "attribute_not_exists(pk)",
                    }
                )
            try:
                self._table.transact(operations)
            except TransactionConflictError:
                continue  # another writer moved the profile on: read it again and decide again
            return result
        raise RuntimeError(
            f"the standing of account {account} kept changing under {MAX_STANDING_ATTEMPTS} attempts"
        )


def contact_count_change(account: str, delta: int) -> dict[str, Any]:
    """A change of the account's contact counter, as one operation of a ``Table.transact``: a flow adds
    it to the transaction that records its own step, so the counter moves exactly once per step."""
    return {
        "update": _profile_key(account),
        "expression": "SET #type = :type, account = :account ADD contact_count :delta",
        "names": {"#type": "type"},
        "values": {":delta": delta, ":type": "profile", ":account": account},
    }


def _profile_key(account: str) -> dict[str, str]:
    return {"pk": keys.account_pk(account), "sk": keys.PROFILE_SK}


def _digest(event: str) -> str:
    return hashlib.sha256(event.encode()).hexdigest()[:12]
