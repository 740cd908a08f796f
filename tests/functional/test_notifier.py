"""The notifier on moto: one record, one email and one SNS message per event, never twice."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from functional_cloud import ACCOUNT, CUSTOMER, Cloud, lifecycle_of

from listguard.domain import EventType
from listguard.notify import Notifier
from listguard.stores import NotificationStore

DATA = {"import_id": "leads", "contacts": 12}


def notifier(cloud: Cloud) -> Notifier:
    return lifecycle_of(cloud).notifier  # type: ignore[no-any-return]


class FailingOnce:
    def __init__(self, original: Any, error: Exception) -> None:
        self.original, self.error, self.calls = original, error, 0

    def __call__(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            raise self.error
        return self.original(**kwargs)


def test_no_address_on_the_account_means_no_email_but_a_record_and_an_sns_message(cloud: Cloud) -> None:
    note = notifier(cloud).notify(ACCOUNT, EventType.IMPORT_VALIDATED, "import:acme:leads:e:v", DATA)
    assert (note.email_status, note.sns_status) == ("no_recipient", "sent")
    assert cloud.emails() == []
    assert len(cloud.flag_events()) == 1


def test_a_refused_send_is_retried_and_an_unanswered_one_is_never_repeated(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud.account_store.set_email(ACCOUNT, CUSTOMER, now="2026-11-30T00:00:00+00:00")
    sender = notifier(cloud)
    # Given SES refusing the first send (throttled: it did not happen), and SNS never answering once
    ses = FailingOnce(sender._sesv2.send_email, ClientError({"Error": {"Code": "Throttling"}}, "SendEmail"))
    sns = FailingOnce(sender._sns.publish, ReadTimeoutError(endpoint_url="https://sns"))
    monkeypatch.setattr(sender._sesv2, "send_email", ses)
    monkeypatch.setattr(sender._sns, "publish", sns)

    # When the event is notified, and (after the error) notified again, as a retry would
    with pytest.raises(ClientError):
        sender.notify(ACCOUNT, EventType.IMPORT_VALIDATED, "import:acme:leads:e:v", DATA)
    note = sender.notify(ACCOUNT, EventType.IMPORT_VALIDATED, "import:acme:leads:e:v", DATA)

    # Then the email went out once (on the retry); the SNS message whose answer was lost is not
    # published again: it may have gone out, and a customer is never told twice
    assert (note.email_status, note.sns_status) == ("sent", "unknown")
    assert len(cloud.emails()) == 1
    assert sns.calls == 1
    assert len(list(NotificationStore(cloud.table).list(ACCOUNT))) == 1


def test_notifications_are_listed_newest_first_and_can_be_marked_read(cloud: Cloud) -> None:
    sender, store = notifier(cloud), NotificationStore(cloud.table)
    first = sender.notify(
        ACCOUNT, EventType.IMPORT_VALIDATED, "import:acme:a:e:v", {**DATA, "import_id": "a"}
    )
    second = sender.notify(
        ACCOUNT, EventType.IMPORT_VALIDATED, "import:acme:b:e:v", {**DATA, "import_id": "b"}
    )
    assert [n.notification_id for n in store.list(ACCOUNT)] == [second.notification_id, first.notification_id]

    assert store.mark_read(ACCOUNT, first.notification_id, now="2026-11-30T01:00:00+00:00")
    assert [n.notification_id for n in store.list(ACCOUNT, unread=True)] == [second.notification_id]
    assert not store.mark_read(ACCOUNT, "n-doesnotexist", now="2026-11-30T01:00:00+00:00")
