"""SES's two feedback formats, as SNS delivers them, read by the feedback flow (no AWS).

The documents follow the examples of the SES developer guide: event publishing through a configuration
set ("eventType", with the email's tags) and identity notifications ("notificationType", with its
original headers).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from listguard.flows.campaigns.content import campaign_message, send_email_request
from listguard.flows.campaigns.feedback import parse_notification, simulated_notification
from listguard.flows.campaigns.targets import SegmentError, parse_segment

MAIL: dict[str, Any] = {
    "timestamp": "2026-12-01T10:00:00.000Z",
    "source": "acme@mail.example.com",
    "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/mail.example.com",
    "sendingAccountId": "123456789012",
    "messageId": "0100018c-aaaa-bbbb-cccc-000000000000-000000",
    "destination": ["bob@example.com"],
    "headersTruncated": False,
    "headers": [
        {"name": "From", "value": "acme@mail.example.com"},
        {"name": "To", "value": "bob@example.com"},
        {"name": "X-Listguard-Account", "value": "acme"},
        {"name": "X-Listguard-Campaign", "value": "c-0123456789ab"},
    ],
    "commonHeaders": {"from": ["acme@mail.example.com"], "to": ["bob@example.com"], "subject": "Sale"},
    "tags": {
        "ses:configuration-set": ["listguard-campaigns"],
        "ses:source-ip": ["192.0.2.0"],
        "listguard-account": ["acme"],
        "listguard-campaign": ["c-0123456789ab"],
    },
}
EVENT_BOUNCE: dict[str, Any] = {
    "eventType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {
                "emailAddress": "bob@example.com",
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown",
            }
        ],
        "timestamp": "2026-12-01T10:00:05.000Z",
        "feedbackId": "0100018c-feedback-0001",
        "reportingMTA": "dsn; mta.example.com",
    },
    "mail": MAIL,
}
EVENT_COMPLAINT: dict[str, Any] = {
    "eventType": "Complaint",
    "complaint": {
        "complainedRecipients": [{"emailAddress": "bob@example.com"}],
        "timestamp": "2026-12-01T11:00:00.000Z",
        "feedbackId": "0100018c-feedback-0002",
        "userAgent": "Mozilla/5.0",
        "complaintFeedbackType": "abuse",
        "arrivalDate": "2026-12-01T11:00:00.000Z",
    },
    "mail": MAIL,
}
EVENT_OPEN: dict[str, Any] = {
    "eventType": "Open",
    "mail": MAIL,
    "open": {"ipAddress": "192.0.2.1", "timestamp": "2026-12-01T12:00:00.000Z", "userAgent": "Mozilla/5.0"},
}
NOTIFICATION_BOUNCE: dict[str, Any] = {
    "notificationType": "Bounce",
    "bounce": {**EVENT_BOUNCE["bounce"], "bounceType": "Transient", "bounceSubType": "MailboxFull"},
    "mail": {key: value for key, value in MAIL.items() if key != "tags"},
}


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        (EVENT_BOUNCE, "Bounce"),
        (EVENT_COMPLAINT, "Complaint"),
        (EVENT_OPEN, "Open"),
        (NOTIFICATION_BOUNCE, "Bounce"),
    ],
)
def test_both_formats_name_the_event_the_account_and_the_campaign(
    document: dict[str, Any], kind: str
) -> None:
    notification = parse_notification(json.dumps(document))
    assert notification is not None
    assert notification.kind == kind
    # Event publishing carries the tags; identity notifications only the original headers
    assert (notification.account, notification.campaign_id) == ("acme", "c-0123456789ab")


def test_a_bounce_says_hard_or_soft_and_who() -> None:
    hard = parse_notification(json.dumps(EVENT_BOUNCE))
    soft = parse_notification(json.dumps(NOTIFICATION_BOUNCE))
    assert hard is not None and hard.bounce is not None and soft is not None and soft.bounce is not None
    assert (hard.bounce.bounceType, soft.bounce.bounceType) == ("Permanent", "Transient")
    assert [r.emailAddress for r in hard.bounce.bouncedRecipients] == ["bob@example.com"]


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        json.dumps({"Type": "SubscriptionConfirmation"}),
        json.dumps({"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "ok"}),
        json.dumps({"eventType": "Bounce", "mail": {"destination": []}}),  # no message id
        json.dumps([1, 2]),
    ],
)
def test_anything_else_on_the_topic_is_not_feedback(message: str) -> None:
    assert parse_notification(message) is None


@pytest.mark.parametrize("kind", ["bounce", "soft-bounce", "complaint", "open", "click"])
def test_a_simulated_event_is_read_as_ses_would_send_it(kind: str) -> None:
    document = simulated_notification(
        kind,  # type: ignore[arg-type]
        "bob@example.com",
        account="acme",
        campaign_id="c-0123456789ab",
        sender="acme@mail.example.com",
        message_id="m-1",
        at="2026-12-01T10:00:00.000+00:00",
    )
    notification = parse_notification(json.dumps(document))
    assert notification is not None
    assert notification.kind == {"bounce": "Bounce", "soft-bounce": "Bounce", "complaint": "Complaint"}.get(
        kind, kind.capitalize()
    )
    assert (notification.account, notification.campaign_id, notification.mail.messageId) == (
        "acme",
        "c-0123456789ab",
        "m-1",
    )


def test_every_email_carries_its_account_and_campaign_as_tags_and_headers() -> None:
    from email import message_from_bytes

    from listguard.domain.models import Campaign
    from listguard.domain.vocabulary import CampaignStatus

    campaign = Campaign(
        account="acme",
        campaign_id="c-0123456789ab",
        status=CampaignStatus.SENDING,
        subject="Spring sale",
        text="Hello",
        html="<p>Hello</p>",
        sender="acme@mail.example.com",
    )
    request = send_email_request(campaign, "bob@example.com", configuration_set="listguard-campaigns")
    assert request["ConfigurationSetName"] == "listguard-campaigns"
    assert request["Destination"] == {"ToAddresses": ["bob@example.com"]}
    assert {tag["Name"]: tag["Value"] for tag in request["EmailTags"]} == {
        "listguard-account": "acme",
        "listguard-campaign": "c-0123456789ab",
    }
    message = message_from_bytes(campaign_message(campaign, "bob@example.com"))
    assert (message["X-Listguard-Account"], message["X-Listguard-Campaign"]) == ("acme", "c-0123456789ab")
    assert [part.get_content_type() for part in message.walk()][1:] == ["text/plain", "text/html"]


def test_a_segment_is_columns_and_values() -> None:
    assert parse_segment(["country=DE", " source = fair "]) == {"country": "DE", "source": "fair"}
    assert parse_segment([]) == {}


@pytest.mark.parametrize(
    ("terms", "message"),
    [(["country"], "COLUMN=VALUE"), (["=DE"], "COLUMN=VALUE"), (["a=1", "a=2"], "given twice")],
)
def test_a_segment_that_cannot_be_used_says_why(terms: list[str], message: str) -> None:
    with pytest.raises(SegmentError, match=message):
        parse_segment(terms)
