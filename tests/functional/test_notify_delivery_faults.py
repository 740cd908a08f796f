"""A customer is told once, whatever the network does to the notifier's calls (found by the chaos sweep).

- The SDK sends a request again after a lost answer; for an email or an SNS message that is a second
  message: the notification clients make one attempt only.
- A channel's claim whose answer is lost, or which the SDK sends twice, must not leave the channel
  "sending" for ever (never sent, or taken for a send cut off midway).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from functional_cloud import ACCOUNT, CUSTOMER, SENDER, Cloud, lifecycle_of

from listguard.aws import aws_clients
from listguard.domain import EventType
from listguard.notify import Notifier
from listguard.stores import NotificationStore

EVENT_KEY = "import:acme:leads:etag:import_validated"
DATA = {"import_id": "leads", "contacts": 12}


class AnswerLostOnce:
    """A botocore ``before-send`` hook registered after moto's: the service has done the request, then
    the first answer is lost (as a read timeout)."""

    def __init__(self) -> None:
        self.lost = 0

    def __call__(self, request: Any, **_: Any) -> None:
        if self.lost == 0:
            self.lost += 1
            raise ReadTimeoutError(endpoint_url=request.url)


def test_an_email_whose_answer_is_lost_is_not_sent_again_by_the_sdk(cloud: Cloud) -> None:
    # Given SES sends the email, but its answer never arrives
    ses = aws_clients().sesv2
    ses.meta.events.register_last("before-send", AnswerLostOnce())

    # When the layer's client sends it
    with pytest.raises(ReadTimeoutError):
        ses.send_email(
            FromEmailAddress=SENDER,
            Destination={"ToAddresses": [CUSTOMER]},
            Content={"Simple": {"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "hello"}}}},
        )

    # Then it went out once: the SDK did not send it a second time
    assert len(cloud.emails()) == 1


def test_an_sns_message_whose_answer_is_lost_is_not_published_again_by_the_sdk(cloud: Cloud) -> None:
    sns = aws_clients().sns
    sns.meta.events.register_last("before-send", AnswerLostOnce())
    topic = cloud.environment["FLAG_TOPIC_ARN"]

    with pytest.raises(ReadTimeoutError):
        sns.publish(TopicArn=topic, Message="{}")

    assert len(cloud.flag_events()) == 1


def test_the_same_claim_sent_twice_still_holds_the_channel_and_no_other_does(cloud: Cloud) -> None:
    # Given a notification whose email is pending
    note = notifier(cloud).notify(ACCOUNT, EventType.IMPORT_VALIDATED, EVENT_KEY, DATA)
    _email_pending(cloud, note.notification_id)
    store = NotificationStore(cloud.table)

    # When one attempt claims it, and its request arrives twice
    assert store.claim_channel(ACCOUNT, note.notification_id, "email", "attempt-1")
    assert store.claim_channel(ACCOUNT, note.notification_id, "email", "attempt-1")

    # Then it still holds the channel; another attempt does not get it
    assert not store.claim_channel(ACCOUNT, note.notification_id, "email", "attempt-2")


def test_a_claim_without_an_answer_gives_the_channel_back_and_the_retry_sends_once(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the email channel's claim lands, but its answer is lost
    cloud.account_store.set_email(ACCOUNT, CUSTOMER, now="2026-11-30T00:00:00+00:00")
    sender = notifier(cloud)
    store: NotificationStore = sender._notifications
    claim = store.claim_channel

    def claim_then_lose_the_answer(account: str, notification_id: str, channel: str, token: str) -> bool:
        claim(account, notification_id, channel, token)
        if channel == "email":
            monkeypatch.setattr(store, "claim_channel", claim)
            raise ReadTimeoutError(endpoint_url="https://dynamodb")
        return True

    monkeypatch.setattr(store, "claim_channel", claim_then_lose_the_answer)

    # When the event is notified (the step fails), then notified again (the step's retry)
    with pytest.raises(ReadTimeoutError):
        sender.notify(ACCOUNT, EventType.IMPORT_VALIDATED, EVENT_KEY, DATA)
    note = sender.notify(ACCOUNT, EventType.IMPORT_VALIDATED, EVENT_KEY, DATA)

    # Then the email went out once, on the retry, and says so
    assert note.email_status == "sent"
    assert len(cloud.emails()) == 1


def notifier(cloud: Cloud) -> Notifier:
    return lifecycle_of(cloud).notifier  # type: ignore[no-any-return]


def _email_pending(cloud: Cloud, notification_id: str) -> None:
    """The email channel back to ``pending`` (the account had no address: it was settled)."""
    cloud.table.update(
        {"pk": f"ACCOUNT#{ACCOUNT}", "sk": f"NOTE#{notification_id}"},
        update="SET email_status = :pending",
        values={":pending": "pending"},
    )
