"""SES feedback on campaign emails: bounces, complaints, opens and clicks, through the feedback topic.

SES publishes an event for each of them through the campaigns' configuration set to an SNS topic, whose
subscriber is the ``feedback`` function. Both of SES's formats are read: event publishing (``eventType``,
with the email's tags) and identity notifications (``notificationType``, with its original headers).
Each email names its account and campaign in both (flows/campaigns/content.py).

- A hard bounce (``Permanent``) or a complaint blocklists the contact, records it on the email's ledger
  entry and counts it on the campaign (and on its sample, for an email of the sample);
- a soft bounce (``Transient`` or ``Undetermined``) is counted, once per SES feedback id;
- an open or a click is kept on the contact as ``last_open_at`` / ``last_click_at``.

Everything here is safe to repeat: SNS may deliver a notification twice, and Lambda retries a failed
one. Times are SES's own, so a replay writes the same values.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from listguard.domain import keys
from listguard.domain.vocabulary import SendPhase, SubscriptionStatus
from listguard.flows.campaigns.content import HEADER_ACCOUNT, HEADER_CAMPAIGN, TAG_ACCOUNT, TAG_CAMPAIGN
from listguard.stores import ContactStore
from listguard.stores.campaign_contacts import CampaignContacts, Engagement
from listguard.stores.ledger import Feedback, SendLedger

logger = Logger(child=True)


class _Ses(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Recipient(_Ses):
    emailAddress: str


class Bounce(_Ses):
    bounceType: str
    bounceSubType: str | None = None
    bouncedRecipients: list[Recipient]
    timestamp: str
    feedbackId: str


class Complaint(_Ses):
    complainedRecipients: list[Recipient]
    timestamp: str
    feedbackId: str
    complaintFeedbackType: str | None = None


class Engaged(_Ses):
    timestamp: str


class Header(_Ses):
    name: str
    value: str


class Mail(_Ses):
    messageId: str
    destination: list[str] = Field(default_factory=list)
    tags: dict[str, list[str]] = Field(default_factory=dict)
    headers: list[Header] = Field(default_factory=list)

    def mark(self, tag: str, header: str) -> str | None:
        """The account or campaign this email was sent for: its tag, else its header."""
        values = self.tags.get(tag)
        if values:
            return values[0]
        for item in self.headers:
            if item.name.lower() == header.lower():
                return item.value
        return None


class SesNotification(_Ses):
    """One SES event or notification, in either of SES's formats."""

    eventType: str | None = None
    notificationType: str | None = None
    mail: Mail
    bounce: Bounce | None = None
    complaint: Complaint | None = None
    open: Engaged | None = None
    click: Engaged | None = None

    @property
    def kind(self) -> str:
        return self.eventType or self.notificationType or ""

    @property
    def account(self) -> str | None:
        return self.mail.mark(TAG_ACCOUNT, HEADER_ACCOUNT)

    @property
    def campaign_id(self) -> str | None:
        return self.mail.mark(TAG_CAMPAIGN, HEADER_CAMPAIGN)


def parse_notification(message: str) -> SesNotification | None:
    """An SNS message's body as SES feedback; None for anything else (SNS's own subscription messages,
    SES's ``AmazonSnsSubscriptionSucceeded``)."""
    try:
        document = json.loads(message)
    except ValueError:
        return None
    if not isinstance(document, dict) or "mail" not in document:
        return None
    try:
        return SesNotification.model_validate(document)
    except ValidationError:
        return None


@dataclass
class FeedbackTally:
    """What one notification did (counts only: it goes to logs)."""

    blocklisted: int = 0
    recorded: int = 0
    repeated: int = 0
    engagement: int = 0
    ignored: list[str] = field(default_factory=list)


class FeedbackRecorder:
    def __init__(
        self,
        *,
        ledger: SendLedger,
        contacts: ContactStore,
        engagement: CampaignContacts,
    ) -> None:
        self._ledger = ledger
        self._contacts = contacts
        self._engagement = engagement

    def record(self, notification: SesNotification) -> FeedbackTally:
        tally = FeedbackTally()
        account, campaign_id = notification.account, notification.campaign_id
        if account is None or campaign_id is None:
            tally.ignored.append("not a listguard campaign email (no account or campaign mark)")
            return tally
        try:
            keys.check_account_id(account)
            keys.check_campaign_id(campaign_id)
        except keys.InvalidKeyError:
            tally.ignored.append("the email's account or campaign mark is not a valid id")
            return tally
        kind = notification.kind
        if kind == "Bounce" and notification.bounce is not None:
            bounce = notification.bounce
            hard = bounce.bounceType == "Permanent"
            for recipient in bounce.bouncedRecipients:
                self._feedback(
                    tally,
                    account,
                    campaign_id,
                    recipient.emailAddress,
                    Feedback.HARD_BOUNCE if hard else Feedback.SOFT_BOUNCE,
                    feedback_id=bounce.feedbackId,
                    at=bounce.timestamp,
                    blocklist_reason="hard bounce" if hard else None,
                )
        elif kind == "Complaint" and notification.complaint is not None:
            complaint = notification.complaint
            for recipient in complaint.complainedRecipients:
                self._feedback(
                    tally,
                    account,
                    campaign_id,
                    recipient.emailAddress,
                    Feedback.COMPLAINT,
                    feedback_id=complaint.feedbackId,
                    at=complaint.timestamp,
                    blocklist_reason="complaint",
                )
        elif kind in ("Open", "Click"):
            engaged = notification.open if kind == "Open" else notification.click
            if engaged is None:
                tally.ignored.append(f"{kind} event without its {kind.lower()} object")
                return tally
            what = Engagement.OPEN if kind == "Open" else Engagement.CLICK
            for address in notification.mail.destination:
                tally.engagement += self._engagement.record_engagement(
                    account, address, what, engaged.timestamp
                )
        else:
            tally.ignored.append(f"SES event {kind or 'without a type'} is not used")
        return tally

    def _feedback(
        self,
        tally: FeedbackTally,
        account: str,
        campaign_id: str,
        address: str,
        feedback: Feedback,
        *,
        feedback_id: str,
        at: str,
        blocklist_reason: str | None,
    ) -> None:
        if "@" not in address.strip()[1:-1]:
            tally.ignored.append("a recipient that is not an email address")
            return
        if blocklist_reason is not None:
            contact = self._contacts.get(account, address)
            # Already blocklisted: a replay (or an earlier block) changes nothing.
            if contact is None or contact.subscription_status is not SubscriptionStatus.BLOCKLISTED:
                self._contacts.blocklist(account, address, now=at, reason=blocklist_reason)
                tally.blocklisted += 1
        contact_key = keys.contact_key(address)
        entry = self._ledger.get(account, campaign_id, contact_key)
        if entry is None:
            tally.ignored.append("no ledger entry for the email (sent by another system?)")
            return
        recorded = self._ledger.record_feedback(
            account,
            campaign_id,
            contact_key,
            feedback=feedback,
            feedback_id=feedback_id,
            at=at,
            sample=entry.phase is SendPhase.SAMPLE,
        )
        if recorded:
            tally.recorded += 1
        else:
            tally.repeated += 1


SimulatedKind = Literal["bounce", "soft-bounce", "complaint", "open", "click"]


def simulated_notification(
    kind: SimulatedKind,
    address: str,
    *,
    account: str,
    campaign_id: str,
    sender: str,
    message_id: str | None,
    at: str,
    sending_account: str = "123456789012",
    configuration_set: str = "listguard-campaigns",
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> dict[str, Any]:
    """An SES event, exactly as SES publishes it through a configuration set to SNS (for the local
    cloud, where no mail server answers): a permanent or transient bounce, a complaint, an open."""
    mail = {
        "timestamp": at,
        "source": sender,
        "sendingAccountId": sending_account,
        "messageId": message_id or f"simulated-{new_id()}",
        "destination": [address],
        "headersTruncated": False,
        "headers": [
            {"name": "To", "value": address},
            {"name": HEADER_ACCOUNT, "value": account},
            {"name": HEADER_CAMPAIGN, "value": campaign_id},
        ],
        "tags": {
            "ses:configuration-set": [configuration_set],
            TAG_ACCOUNT: [account],
            TAG_CAMPAIGN: [campaign_id],
        },
    }
    feedback_id = f"{new_id()}-000000"
    if kind in ("bounce", "soft-bounce"):
        hard = kind == "bounce"
        return {
            "eventType": "Bounce",
            "bounce": {
                "bounceType": "Permanent" if hard else "Transient",
                "bounceSubType": "General" if hard else "MailboxFull",
                "bouncedRecipients": [
                    {
                        "emailAddress": address,
                        "action": "failed",
                        "status": "5.1.1" if hard else "4.2.2",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown"
                        if hard
                        else "smtp; 452 4.2.2 mailbox full",
                    }
                ],
                "timestamp": at,
                "feedbackId": feedback_id,
                "reportingMTA": "dsn; a.simulated.mta",
            },
            "mail": mail,
        }
    if kind == "complaint":
        return {
            "eventType": "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": address}],
                "timestamp": at,
                "feedbackId": feedback_id,
                "userAgent": "listguard feedback simulate",
                "complaintFeedbackType": "abuse",
                "arrivalDate": at,
            },
            "mail": mail,
        }
    engaged = {"timestamp": at, "ipAddress": "192.0.2.1", "userAgent": "listguard feedback simulate"}
    if kind == "click":
        engaged["link"] = "https://example.com/"
    return {"eventType": "Open" if kind == "open" else "Click", kind: engaged, "mail": mail}
