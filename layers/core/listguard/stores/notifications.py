"""The notification center (``ACCOUNT#<account>`` / ``NOTE#<notification id>``), newest first.

A notification's id comes from its event (``notification_id_for``): a replayed event finds its record
and notifies no one twice. Each channel (email, SNS) is claimed before it is sent and marked after.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from listguard.domain import keys
from listguard.domain.models import Notification
from listguard.stores.dynamo import ConditionFailedError, Item, Table

_NOTE = "NOTE#"


class ChannelStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    #: The account has no address to write to.
    NO_RECIPIENT = "no_recipient"
    #: An attempt was cut off mid-send: it may or may not have gone out, and is not sent again
    #: (a customer is never told twice); operators see it here.
    UNKNOWN = "unknown"


def notification_id_for(event_key: str) -> str:
    """A short, typeable id for one event (``account:import:etag:event_type`` and the like)."""
    return "n-" + hashlib.sha256(event_key.encode()).hexdigest()[:16]


class NotificationStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, notification: Notification) -> Notification | None:
        """Store a new notification; None when its event was notified already (the stored one wins)."""
        item: Item = {
            **_key(notification.account_id, notification.notification_id),
            "type": "notification",
            **notification.model_dump(mode="json"),
            "gsi1pk": keys.notifications_index_pk(notification.account_id),
            "gsi1sk": f"{notification.created_at}#{notification.notification_id}",
        }
        try:
            self._table.put(item, condition="attribute_not_exists(pk)")
        except ConditionFailedError:
            return None
        return notification

    def get(self, account: str, notification_id: str) -> Notification | None:
        item = self._table.get(_key(account, notification_id))
        return Notification.model_validate(item) if item else None

    def list(self, account: str, *, unread: bool = False, limit: int | None = None) -> Iterator[Notification]:
        """Newest first (the account's notifications index)."""
        for item in self._table.query(
            "gsi1pk = :pk",
            {":pk": keys.notifications_index_pk(account), **({":false": False} if unread else {})},
            index="gsi1",
            forward=False,
            filter_expression="#read = :false" if unread else None,
            names={"#read": "read"} if unread else None,
            limit=limit,
        ):
            yield Notification.model_validate(item)

    def mark_read(self, account: str, notification_id: str, *, now: str) -> bool:
        """False when there is no such notification."""
        try:
            self._table.update(
                _key(account, notification_id),
                update="SET #read = :true, read_at = if_not_exists(read_at, :now)",
                condition="attribute_exists(pk)",
                names={"#read": "read"},
                values={":true": True, ":now": now},
            )
        except ConditionFailedError:
            return False
        return True

    def claim_channel(self, account: str, notification_id: str, channel: str, claim: str) -> bool:
        """``pending`` -> ``sending``: True for the one attempt (``claim``, unique to it) that may send on
        this channel. Idempotent for that attempt: the same request sent again (the SDK resends a request
        whose answer was lost) finds its own claim and is still True."""
        try:
            self._table.update(
                _key(account, notification_id),
                update="SET #channel = :sending, #claim = :claim",
                condition="#channel = :pending OR (#channel = :sending AND #claim = :claim)",
                names={"#channel": f"{channel}_status", "#claim": f"{channel}_claim"},
                values={
                    ":pending": str(ChannelStatus.PENDING),
                    ":sending": str(ChannelStatus.SENDING),
                    ":claim": claim,
                },
            )
        except ConditionFailedError:
            return False
        return True

    def release_channel(self, account: str, notification_id: str, channel: str, claim: str) -> None:
        """``sending`` -> ``pending`` if ``claim`` holds it: that attempt never sent (its claim got no
        answer), so a later attempt may send; another attempt's claim is left alone."""
        try:
            self._table.update(
                _key(account, notification_id),
                update="SET #channel = :pending REMOVE #claim",
                condition="#channel = :sending AND #claim = :claim",
                names={"#channel": f"{channel}_status", "#claim": f"{channel}_claim"},
                values={
                    ":pending": str(ChannelStatus.PENDING),
                    ":sending": str(ChannelStatus.SENDING),
                    ":claim": claim,
                },
            )
        except ConditionFailedError:
            return

    def finish_channel(self, account: str, notification_id: str, channel: str, status: ChannelStatus) -> None:
        """``sending`` -> ``status`` (sent, unknown, or back to pending when the send surely failed)."""
        self._move_channel(account, notification_id, channel, ChannelStatus.SENDING, status)

    def settle_channel(self, account: str, notification_id: str, channel: str, status: ChannelStatus) -> None:
        """``pending`` -> a final status without sending (no recipient)."""
        self._move_channel(account, notification_id, channel, ChannelStatus.PENDING, status)

    def abandon_interrupted(self, account: str, notification_id: str, channel: str) -> None:
        """An earlier attempt claimed the channel and never finished: it may have sent. Say so."""
        self._move_channel(account, notification_id, channel, ChannelStatus.SENDING, ChannelStatus.UNKNOWN)

    def _move_channel(
        self, account: str, notification_id: str, channel: str, source: ChannelStatus, target: ChannelStatus
    ) -> bool:
        try:
            self._table.update(
                _key(account, notification_id),
                update="SET #channel = :target",
                condition="#channel = :source",
                names={"#channel": f"{channel}_status"},
                values={":source": str(source), ":target": str(target)},
            )
        except ConditionFailedError:
            return False
        return True


def _key(account: str, notification_id: str) -> dict[str, Any]:
    return {"pk": keys.account_pk(account), "sk": f"{_NOTE}{notification_id}"}
