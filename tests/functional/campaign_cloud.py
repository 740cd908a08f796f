"""The campaign flow on a functional test's mocked AWS (the fixtures are in conftest): its services,
campaigns in any state, and what SES sent."""

from __future__ import annotations

import email
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

import boto3
from functional_cloud import ACCOUNT, BUCKET, Cloud
from harness import run_handler

from listguard.domain.deliverability import DeliverabilityPolicy
from listguard.domain.models import Campaign
from listguard.domain.vocabulary import CampaignStatus
from listguard.flows.campaigns.actions import Campaigns
from listguard.flows.campaigns.services import campaign_services
from listguard.flows.campaigns.steps import CampaignServices
from listguard.notify import Notifier
from listguard.stores.campaigns import campaign_key

SENDER_DOMAIN = "notify.example.com"


def services(
    cloud: Cloud, *, policy: DeliverabilityPolicy | None = None, sesv2: Any = None
) -> CampaignServices:
    """The flow's services as the functions build them, on this test's mocked AWS."""
    return campaign_services(
        table=cloud.table,
        s3=cloud.s3,
        sfn=cloud.sfn,
        sesv2_single_attempt=sesv2 or boto3.client("sesv2"),
        bucket=BUCKET,
        configuration_set="listguard-campaigns",
        notifier=Notifier.on(
            cloud.table,
            sesv2=boto3.client("sesv2"),
            sns=boto3.client("sns"),
            topic_arn=cloud.environment["FLAG_TOPIC_ARN"],
            sender=cloud.environment["NOTIFICATION_SENDER"],
        ),
        policy=policy or DeliverabilityPolicy(send_rate_per_second=10_000),
    )


def actions(cloud: Cloud, **kwargs: Any) -> Campaigns:
    return Campaigns(
        services(cloud, **kwargs), state_machine_arn=cloud.state_machine_arn, sender_domain=SENDER_DOMAIN
    )


def new_campaign(
    cloud: Cloud, *, status: CampaignStatus = CampaignStatus.SENDING, account: str = ACCOUNT, **fields: Any
) -> Campaign:
    """A campaign in ``status`` (as the steps before would have left it)."""
    campaign = actions(cloud).create(
        account, subject="Spring sale", text="Hello", sender=f"news@{SENDER_DOMAIN}"
    )
    set_fields(cloud, campaign, status=str(status), **fields)
    found = actions(cloud).get(account, campaign.campaign_id)
    return found


def set_fields(cloud: Cloud, campaign: Campaign, **fields: Any) -> None:
    """What another flow (a remediation's requeue mark) or an earlier step wrote on the campaign."""
    names = {f"#f{i}": name for i, name in enumerate(fields)}
    values = {f":f{i}": value for i, value in enumerate(fields.values())}
    cloud.table.update(
        campaign_key(campaign.account, campaign.campaign_id),
        update="SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))),
        condition="attribute_exists(pk)",
        names=names,
        values=values,
    )


def campaign_recipients(cloud: Cloud, campaign_id: str | None = None) -> Counter[str]:
    """How many campaign emails SES took for each address (notifications to the account left out)."""
    sent: Counter[str] = Counter()
    for message in cloud.emails():
        parsed = email.message_from_string(message["raw"]) if message["raw"] else None
        if parsed is None or parsed["X-Listguard-Campaign"] is None:
            continue
        if campaign_id is None or parsed["X-Listguard-Campaign"] == campaign_id:
            sent[str(parsed["To"])] += 1
    return sent


def step(cloud: Cloud, name: str, campaign: Campaign, **payload: Any) -> Any:
    """Run one task of the campaign state machine, as its Task state would."""
    event = {"step": name, "campaign": {"account": campaign.account, "campaign_id": campaign.campaign_id}}
    return run_handler("campaign_steps", {**event, **payload}, environment=cloud.environment)


def loop(cloud: Cloud, name: str, campaign: Campaign, **payload: Any) -> list[dict[str, Any]]:
    """A loop state: the step again and again until it says done (it keeps its place on the campaign)."""
    results = []
    while True:
        result = step(cloud, name, campaign, **payload)
        results.append(result)
        if result["done"]:
            return results


def sns_event(*messages: dict[str, Any]) -> dict[str, Any]:
    """What SNS hands a subscribed function: one record per message."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:feedback:sub",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": f"sns-{index}",
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:feedback",
                    "Subject": None,
                    "Message": json.dumps(message),
                    "Timestamp": "2026-12-01T10:00:00.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://example.com/cert.pem",
                    "UnsubscribeUrl": "https://example.com/unsubscribe",
                    "MessageAttributes": {},
                },
            }
            for index, message in enumerate(messages)
        ]
    }


def addresses(count: int, *, start: int = 0, domain: str = "example.com") -> list[str]:
    return [f"person{i}@{domain}" for i in range(start, start + count)]


def pairs(emails: Iterable[str]) -> list[tuple[str, str]]:
    """(contact key, email): what a page of recipients is."""
    from listguard.domain import keys

    return [(keys.contact_key(address), address) for address in emails]
