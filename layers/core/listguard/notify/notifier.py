"""One entry point tells a customer about an event: notification center, email (SES v2), SNS.

``Notifier.notify`` is idempotent per event: the notification's id is derived from the event, its
record is created once (a replay finds it and stops), and each channel is claimed before it is sent.
Sending is at most once: an attempt cut off mid-send leaves the channel ``unknown`` rather than risk a
second email; a send that the service refused (a ``ClientError``: it did not happen) is retried.
The only address written to is the account's own; no message carries a contact's address.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from listguard.domain.models import Notification
from listguard.domain.vocabulary import EventType
from listguard.notify.render import render
from listguard.stores.accounts import AccountStore
from listguard.stores.dynamo import Table, to_dynamodb
from listguard.stores.notifications import ChannelStatus, NotificationStore, notification_id_for

logger = Logger(child=True)

EMAIL, SNS = "email", "sns"


class Notifier:
    def __init__(
        self,
        *,
        notifications: NotificationStore,
        accounts: AccountStore,
        sesv2: Any,
        sns: Any,
        topic_arn: str,
        sender: str,
        clock: Callable[[], str],
    ) -> None:
        self._notifications = notifications
        self._accounts = accounts
        self._sesv2 = sesv2
        self._sns = sns
        self._topic_arn = topic_arn
        self._sender = sender
        self._clock = clock

    @classmethod
    def on(cls, table: Table, *, sesv2: Any, sns: Any, topic_arn: str, sender: str) -> Notifier:
        """The notifier of a stack: its table's notification center and account profiles, the clock of
        the layer."""
        from listguard.stores import ContactStore, utc_now_iso

        return cls(
            notifications=NotificationStore(table),
            accounts=AccountStore(table, ContactStore(table)),
            sesv2=sesv2,
            sns=sns,
            topic_arn=topic_arn,
            sender=sender,
            clock=utc_now_iso,
        )

    def notify(
        self, account_id: str, event_type: EventType, event_key: str, data: Mapping[str, Any]
    ) -> Notification:
        """Tell the account about one event (safe to call again for the same ``event_key``)."""
        notification_id = notification_id_for(event_key)
        stored = self._notifications.get(account_id, notification_id)
        if stored is None:
            email = render(event_type, {"account_id": account_id, **data})
            notification = Notification(
                notification_id=notification_id,
                account_id=account_id,
                event_type=event_type,
                event_key=event_key,
                subject=email.subject,
                text=email.text,
                created_at=self._clock(),
                data=to_dynamodb(dict(data)),
            )
            stored = self._notifications.create(notification) or self._notifications.get(
                account_id, notification_id
            )
            assert stored is not None
        self._send_email(stored)
        self._publish(stored)
        return self._notifications.get(account_id, notification_id) or stored

    def _send_email(self, notification: Notification) -> None:
        recipient = self._accounts.get(notification.account_id).email

        def send() -> None:
            assert recipient is not None
            email = render(
                notification.event_type, {"account_id": notification.account_id, **notification.data}
            )
            message = EmailMessage()
            message["Subject"] = email.subject
            message["From"] = self._sender
            message["To"] = recipient
            message["X-Listguard-Notification"] = notification.notification_id
            message.set_content(email.text)
            message.add_alternative(email.html, subtype="html")
            self._sesv2.send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [recipient]},
                Content={"Raw": {"Data": message.as_bytes()}},
            )

        self._channel(notification, EMAIL, send, has_recipient=recipient is not None)

    def _publish(self, notification: Notification) -> None:
        def publish() -> None:
            message = {
                "event_type": str(notification.event_type),
                "account_id": notification.account_id,
                "notification_id": notification.notification_id,
                "subject": notification.subject,
                "created_at": notification.created_at,
                **notification.data,
            }
            self._sns.publish(
                TopicArn=self._topic_arn,
                Message=_json(message),
                MessageAttributes={
                    "event_type": {"DataType": "String", "StringValue": str(notification.event_type)},
                    "account_id": {"DataType": "String", "StringValue": notification.account_id},
                },
            )

        self._channel(notification, SNS, publish, has_recipient=True)

    def _channel(
        self, notification: Notification, channel: str, send: Callable[[], None], *, has_recipient: bool
    ) -> None:
        account, notification_id = notification.account_id, notification.notification_id
        status = getattr(notification, f"{channel}_status")
        if status == ChannelStatus.SENDING:
            self._notifications.abandon_interrupted(account, notification_id, channel)
            logger.warning("a send was interrupted earlier; not sent again", extra={"channel": channel})
            return
        if status != ChannelStatus.PENDING:
            return
        if not has_recipient:
            self._notifications.settle_channel(account, notification_id, channel, ChannelStatus.NO_RECIPIENT)
            return
        claim = uuid.uuid4().hex
        try:
            claimed = self._notifications.claim_channel(account, notification_id, channel, claim)
        except ClientError:
            raise  # refused: the claim did not land, a retry claims again
        except Exception:
            # No answer: the claim may have landed. Nothing was sent: give the channel back, so that the
            # retry sends it instead of taking it for a send cut off midway.
            self._notifications.release_channel(account, notification_id, channel, claim)
            raise
        if not claimed:
            return  # another attempt is sending it
        try:
            send()
        except ClientError:
            # The service answered no: nothing was sent, a retry may send it.
            self._notifications.finish_channel(account, notification_id, channel, ChannelStatus.PENDING)
            raise
        except Exception:
            # No answer (a timeout, a dropped connection): it may have gone out. Never twice.
            self._notifications.finish_channel(account, notification_id, channel, ChannelStatus.UNKNOWN)
            logger.warning("a send ended without an answer; it is not sent again", extra={"channel": channel})
            return
        self._notifications.finish_channel(account, notification_id, channel, ChannelStatus.SENT)


def _json(document: Mapping[str, Any]) -> str:
    import json

    return json.dumps(document, ensure_ascii=False, default=str)
