"""What must never happen, whatever failed: checked on every state a run comes to rest in.

- a contact lost (one the account had, or one the fault-free run ends with) or duplicated;
- a flag lowered: a contact less flagged than both its flag before the flow and its flag at the end of
  the fault-free run, or sendable while the import that last wrote it has not cleared it (it waits for
  the customer or an operator, or was declined, cancelled or rejected);
- a blocklisted contact re-subscribed;
- a notification sent twice (by email or on SNS), a contact mailed twice;
- a contact deleted without a verified export.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from listguard.domain.keys import contact_key
from listguard.domain.vocabulary import FlagStatus, ImportStatus, SubscriptionStatus

from .state import State

#: The statuses of an import whose contacts may not be sendable: nothing cleared them (yet). (A failed
#: import's contacts carry the flag its finished check decided: the floor below holds them to it.)
NOT_CLEARED = {
    str(status)
    for status in (
        ImportStatus.AWAITING_CONFIRMATION,
        ImportStatus.IN_REVIEW,
        ImportStatus.DECLINED,
        ImportStatus.CANCELLED,
        ImportStatus.REJECTED,
    )
}


@dataclass(frozen=True)
class Baseline:
    """What a run is held to: the state before the flow and the fault-free run's end state."""

    before: State
    reference: State
    #: Addresses a verified export holds (a flow that deletes contacts says which; None: no flow deletes).
    verified_exports: Callable[[State], set[str]] | None = None


def violations(state: State, baseline: Baseline, *, final: bool) -> list[str]:
    """Every broken rule in ``state``, one line each. ``final``: the run has ended (nothing more will
    be retried), so the fault-free run's contacts must all be there."""
    return [
        *_lost(state, baseline, final=final),
        *_duplicated(state),
        *_flags_lowered(state, baseline),
        *_resubscribed(state, baseline),
        *_told_twice(state),
        *_mailed_twice(state),
    ]


def _by_address(contacts: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(item.get("email_key")): item for item in contacts.values()}


def _lost(state: State, baseline: Baseline, *, final: bool) -> Iterable[str]:
    now = _by_address(state.contacts)
    exported = baseline.verified_exports(state) if baseline.verified_exports else set()
    must_exist = set(_by_address(baseline.before.contacts))
    if final:
        must_exist |= set(_by_address(baseline.reference.contacts))
    for key in sorted(must_exist - set(now)):
        if key in exported:
            continue
        yield f"contact lost: {key}" + (
            " (deleted without a verified export)" if baseline.verified_exports else ""
        )


def _duplicated(state: State) -> Iterable[str]:
    addresses = Counter(contact_key(str(item.get("email", ""))) for item in state.contacts.values())
    for address, count in sorted(addresses.items()):
        if count > 1:
            yield f"contact duplicated: {address} is {count} contacts"
    for key, item in sorted(state.contacts.items()):
        stored_under = item.get("email_key")
        if (
            not key.endswith(f"|CONTACT#{stored_under}")
            or contact_key(str(item.get("email"))) != stored_under
        ):
            yield f"contact duplicated: {key} is not stored under its address's key"


def _rank(flag: Any) -> int:
    return FlagStatus(flag).rank


def _flags_lowered(state: State, baseline: Baseline) -> Iterable[str]:
    before, reference = _by_address(baseline.before.contacts), _by_address(baseline.reference.contacts)
    imports = {
        (str(item.get("account")), str(item.get("import_id"))): item for item in state.imports.values()
    }
    for key, item in sorted(_by_address(state.contacts).items()):
        flag = str(item.get("flag_status"))
        floors = [_rank(source[key]["flag_status"]) for source in (before, reference) if key in source]
        if floors and _rank(flag) < min(floors):
            yield f"flag lowered: {key} is {flag}"
            continue
        if flag != FlagStatus.NONE or (key in before and before[key].get("flag_status") == FlagStatus.NONE):
            continue
        writer = imports.get((str(item.get("account")), str(item.get("import_id"))))
        if writer is not None and writer.get("status") in NOT_CLEARED:
            writer_id, status = writer.get("import_id"), writer.get("status")
            yield f"flag lowered: {key} is sendable, but import {writer_id} is {status}"


def _resubscribed(state: State, baseline: Baseline) -> Iterable[str]:
    blocklisted = {
        key
        for source in (baseline.before, baseline.reference)
        for key, item in _by_address(source.contacts).items()
        if item.get("subscription_status") == SubscriptionStatus.BLOCKLISTED
    }
    for key, item in sorted(_by_address(state.contacts).items()):
        if key in blocklisted and item.get("subscription_status") != SubscriptionStatus.BLOCKLISTED:
            yield f"blocklisted contact re-subscribed: {key}"


def _told_twice(state: State) -> Iterable[str]:
    emails = Counter(m["notification"] for m in state.emails if m.get("notification"))
    for notification, count in sorted(emails.items()):
        if count > 1:
            yield f"notification sent twice: {notification} emailed {count} times"
    same_email = Counter((m["to"], m["subject"], m["text"]) for m in state.emails)
    for (to, subject, _), count in sorted(same_email.items()):
        if count > 1 and not any(emails[n] > 1 for n in emails):
            yield f"notification sent twice: {to} received {subject!r} {count} times"
    published = Counter(
        str(m["message"].get("notification_id"))
        for m in state.messages
        if isinstance(m.get("message"), dict) and m["message"].get("notification_id")
    )
    for notification, count in sorted(published.items()):
        if count > 1:
            yield f"notification sent twice: {notification} published {count} times"


def _mailed_twice(state: State) -> Iterable[str]:
    accounts = {str(item.get("email")) for item in state.of_type("profile").values() if item.get("email")}
    mailed = Counter((m["to"], m["subject"]) for m in state.emails if m["to"] not in accounts)
    for (to, subject), count in sorted(mailed.items()):
        if count > 1:
            yield f"contact mailed twice: {to} received {subject!r} {count} times"
