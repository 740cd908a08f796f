"""One campaign email: the MIME message SES sends, and the marks that bring its feedback back.

Every email carries the account and the campaign twice: as SES message tags (in every event SES
publishes through the configuration set) and as headers (in the original headers of SES's bounce and
complaint notifications). The feedback function finds the ledger entry from either, never from a guess.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from listguard.domain.models import Campaign

TAG_ACCOUNT = "listguard-account"
TAG_CAMPAIGN = "listguard-campaign"
HEADER_ACCOUNT = "X-Listguard-Account"
HEADER_CAMPAIGN = "X-Listguard-Campaign"


def campaign_message(campaign: Campaign, recipient: str) -> bytes:
    """The raw email to one recipient: the text part, and the HTML part when the campaign has one."""
    message = EmailMessage()
    message["Subject"] = campaign.subject
    message["From"] = campaign.sender
    message["To"] = recipient
    message[HEADER_ACCOUNT] = campaign.account
    message[HEADER_CAMPAIGN] = campaign.campaign_id
    message.set_content(campaign.text)
    if campaign.html:
        message.add_alternative(campaign.html, subtype="html")
    return message.as_bytes()


def send_email_request(
    campaign: Campaign, recipient: str, *, configuration_set: str | None
) -> dict[str, Any]:
    """The arguments of SES v2 ``SendEmail`` for one recipient."""
    request: dict[str, Any] = {
        "FromEmailAddress": campaign.sender,
        "Destination": {"ToAddresses": [recipient]},
        "Content": {"Raw": {"Data": campaign_message(campaign, recipient)}},
        "EmailTags": [
            {"Name": TAG_ACCOUNT, "Value": campaign.account},
            {"Name": TAG_CAMPAIGN, "Value": campaign.campaign_id},
        ],
    }
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    return request
