"""The requeue mark on a campaign (``ACCOUNT#<account>`` / ``CAMPAIGN#<campaign id>``).

A remediation started for an interrupted campaign marks it when the list is clean: two fields on the
campaign's item, ``requeue_requested_by`` (the remediation id) and ``requeue_requested_at``, written only
if the campaign exists, and nothing else of the item. The campaigns flow owns the item and reads the
mark with ``requeue_mark``; both sides use the field names below.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from listguard.domain import keys
from listguard.domain.keys import InvalidKeyError
from listguard.stores.dynamo import ConditionFailedError, Table

REQUESTED_BY = "requeue_requested_by"
REQUESTED_AT = "requeue_requested_at"
MAX_CAMPAIGN_ID_LENGTH = 200


@dataclass(frozen=True)
class RequeueMark:
    requested_by: str
    requested_at: str


def check_campaign_id(campaign_id: str) -> str:
    """A campaign id that can be part of a key (no delimiter, no control character), or InvalidKeyError."""
    if (
        not campaign_id.strip()
        or len(campaign_id) > MAX_CAMPAIGN_ID_LENGTH
        or any(c in "#/\\" or unicodedata.category(c) in {"Cc", "Cf"} for c in campaign_id)
    ):
        raise InvalidKeyError(
            f"campaign id {campaign_id[:40]!r} is not allowed: use up to {MAX_CAMPAIGN_ID_LENGTH} characters "
            "without '#', '/', '\\' or control characters"
        )
    return campaign_id


def _key(account: str, campaign_id: str) -> dict[str, str]:
    return {"pk": keys.account_pk(account), "sk": keys.campaign_sk(check_campaign_id(campaign_id))}


def campaign_exists(table: Table, account: str, campaign_id: str) -> bool:
    return table.get(_key(account, campaign_id), projection=("pk",)) is not None


def mark_for_requeue(table: Table, account: str, campaign_id: str, *, remediation_id: str, at: str) -> bool:
    """Mark the campaign for requeue; False when there is no such campaign (nothing is written then).

    Idempotent: marking again with the same remediation and time writes the same two values.
    """
    try:
        table.update(
            _key(account, campaign_id),
            update="SET #by = :by, #at = :at",
            condition="attribute_exists(pk)",
            names={"#by": REQUESTED_BY, "#at": REQUESTED_AT},
            values={":by": remediation_id, ":at": at},
        )
    except ConditionFailedError:
        return False
    return True


def requeue_mark(table: Table, account: str, campaign_id: str) -> RequeueMark | None:
    """The campaign's requeue mark, if a remediation set one."""
    item = table.get(_key(account, campaign_id), projection=(REQUESTED_BY, REQUESTED_AT))
    if not item or REQUESTED_BY not in item:
        return None
    return RequeueMark(requested_by=str(item[REQUESTED_BY]), requested_at=str(item.get(REQUESTED_AT, "")))
