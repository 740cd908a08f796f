"""A campaign's recipients: the account's contacts, or a segment of them, read page by page.

A segment is a set of imported columns and values (``country=DE``); a contact is in it when every one
matches. Reading is a query on the account's contacts with a filter: its cost follows the account's
size, and each page ends at a contact key, which is the cursor a step hands to the next invocation.
Whether a contact may be mailed is decided again, atomically, when its ledger entry is written
(stores/ledger.py): what a page says is only where to look.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from listguard.domain import keys
from listguard.domain.vocabulary import FlagStatus, SubscriptionStatus
from listguard.stores.dynamo import Item, Table
from listguard.stores.paging import query_page

#: Contacts read per page: one ledger lookup (BatchGetItem) per page.
PAGE_SIZE = 100
#: What a page reads of each contact (its imported columns are only filtered on, never returned).
_PROJECTION = ("sk", "email", "flag_status", "subscription_status", "flagged_by", "last_mailed_at", "rev")


class SegmentError(ValueError):
    """A segment the console cannot use; the message says why and what to write instead."""


def parse_segment(terms: Iterable[str]) -> dict[str, str]:
    """``["country=DE", "source=fair"]`` -> ``{"country": "DE", "source": "fair"}``."""
    segment: dict[str, str] = {}
    for term in terms:
        name, separator, value = term.partition("=")
        if not separator or not name.strip() or not value.strip():
            raise SegmentError(
                f"segment {term!r} is not COLUMN=VALUE: write for example --segment country=DE"
            )
        if name.strip() in segment:
            raise SegmentError(f"segment column {name.strip()!r} is given twice: give each column once")
        segment[name.strip()] = value.strip()
    return segment


@dataclass(frozen=True)
class TargetPage:
    contacts: list[Item]
    #: The contact key to start after next time, or None when this was the last page.
    cursor: str | None

    @staticmethod
    def key_of(contact: Item) -> str:
        return keys.contact_key_of_sk(contact["sk"])


def target_page(
    table: Table,
    account: str,
    segment: Mapping[str, str],
    *,
    after: str | None,
    sendable_only: bool,
    limit: int | None = None,
) -> TargetPage:
    """One page of the campaign's contacts after the contact key ``after``: the subscribed ones (and
    only the sendable ones with ``sendable_only``). Blocklisted contacts are never read back."""
    names: dict[str, str] = {"#sub": "subscription_status"}
    values: dict[str, Any] = {":subscribed": str(SubscriptionStatus.SUBSCRIBED)}
    clauses = ["#sub = :subscribed"]
    if sendable_only:
        names["#flag"] = "flag_status"
        values[":none"] = str(FlagStatus.NONE)
        clauses.append("#flag = :none")
    for index, (column, value) in enumerate(sorted(segment.items())):
        names[f"#c{index}"] = column
        values[f":c{index}"] = value
        clauses.append(f"attributes.#c{index} = :c{index}")
    page = query_page(
        table,
        pk=keys.account_pk(account),
        sk_prefix=keys.CONTACT_SK_PREFIX,
        after_sk=keys.contact_sk(after) if after is not None else None,
        filter_expression=" AND ".join(clauses),
        names=names,
        values=values,
        limit=limit if limit is not None else PAGE_SIZE,
        projection=_PROJECTION,
    )
    cursor = keys.contact_key_of_sk(page.last_sk) if page.last_sk is not None else None
    return TargetPage(contacts=page.items, cursor=cursor)
