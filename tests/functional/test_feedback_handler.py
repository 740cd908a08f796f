"""The feedback function on moto: SES bounces and complaints (both of SES's formats, as SNS delivers
them) blocklist the contact, count on the campaign and its sample once, and opens and clicks are kept on
the contact."""

from __future__ import annotations

from typing import Any

from campaign_cloud import actions, addresses, new_campaign, pairs, services, sns_event
from functional_cloud import ACCOUNT, Cloud
from harness import run_handler

from listguard.domain.models import Campaign
from listguard.domain.vocabulary import SendPhase, SendState, SubscriptionStatus
from listguard.flows.campaigns.feedback import simulated_notification
from listguard.stores.ledger import SendLedger


def feedback(cloud: Cloud, *messages: dict[str, Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = run_handler(
        "feedback", sns_event(*messages), environment=cloud.environment
    )["results"]
    return results


def ses_event(
    kind: str, address: str, campaign: Campaign, *, at: str = "2026-12-01T10:00:00.000Z"
) -> dict[str, Any]:
    return simulated_notification(
        kind,  # type: ignore[arg-type]
        address,
        account=campaign.account,
        campaign_id=campaign.campaign_id,
        sender=campaign.sender,
        message_id=None,
        at=at,
        new_id=lambda: f"{kind}-{address}",
    )


def sent_campaign(cloud: Cloud) -> Campaign:
    """Four contacts: two got the campaign's sample, two got it after."""
    cloud.seed(addresses(4))
    campaign = new_campaign(cloud)
    flow = services(cloud)
    flow.sender.send(campaign, pairs(addresses(2)), phase=SendPhase.SAMPLE, attempt="a")
    flow.sender.send(campaign, pairs(addresses(2, start=2)), phase=SendPhase.MAIN, attempt="b")
    return campaign


def test_a_hard_bounce_blocklists_and_counts_once_on_the_campaign_and_its_sample(cloud: Cloud) -> None:
    campaign = sent_campaign(cloud)
    bounce = ses_event("bounce", addresses(1)[0], campaign)

    # When SES reports a hard bounce of a sample email, and SNS delivers it twice
    first = feedback(cloud, bounce)
    again = feedback(cloud, bounce)

    # Then the contact is blocklisted, its entry records the bounce, and it counted once
    assert (first[0]["blocklisted"], first[0]["recorded"]) == (1, 1)
    assert (again[0]["blocklisted"], again[0]["recorded"], again[0]["repeated"]) == (0, 0, 1)
    contact = cloud.contact_store.get(ACCOUNT, addresses(1)[0])
    assert contact is not None and contact.subscription_status is SubscriptionStatus.BLOCKLISTED
    entry = SendLedger(cloud.table).get(ACCOUNT, campaign.campaign_id, addresses(1)[0])
    assert entry is not None and entry.hard_bounced_at == "2026-12-01T10:00:00.000Z"
    found = actions(cloud).get(ACCOUNT, campaign.campaign_id)
    assert (found.hard_bounces, found.sample_hard_bounces) == (1, 1)


def test_feedback_on_an_email_after_the_sample_counts_on_the_campaign_only(cloud: Cloud) -> None:
    campaign = sent_campaign(cloud)
    feedback(cloud, ses_event("bounce", addresses(1, start=2)[0], campaign))
    feedback(cloud, ses_event("complaint", addresses(1, start=3)[0], campaign))
    found = actions(cloud).get(ACCOUNT, campaign.campaign_id)
    assert (found.hard_bounces, found.complaints) == (1, 1)
    assert (found.sample_hard_bounces, found.sample_complaints) == (0, 0)


def test_a_complaint_blocklists_and_counts_once(cloud: Cloud) -> None:
    campaign = sent_campaign(cloud)
    complaint = ses_event("complaint", addresses(2)[1], campaign)

    feedback(cloud, complaint, complaint)

    contact = cloud.contact_store.get(ACCOUNT, addresses(2)[1])
    assert contact is not None and contact.subscription_status is SubscriptionStatus.BLOCKLISTED
    found = actions(cloud).get(ACCOUNT, campaign.campaign_id)
    assert (found.complaints, found.sample_complaints, found.hard_bounces) == (1, 1, 0)


def test_a_soft_bounce_is_counted_once_per_ses_feedback_and_blocklists_nobody(cloud: Cloud) -> None:
    campaign = sent_campaign(cloud)
    address = addresses(1)[0]
    first = ses_event("soft-bounce", address, campaign)
    later = ses_event("soft-bounce", address, campaign, at="2026-12-02T10:00:00.000Z")
    later["bounce"]["feedbackId"] = "another-feedback"

    feedback(cloud, first, first, later)

    contact = cloud.contact_store.get(ACCOUNT, address)
    assert contact is not None and contact.subscription_status is SubscriptionStatus.SUBSCRIBED
    found = actions(cloud).get(ACCOUNT, campaign.campaign_id)
    assert (found.soft_bounces, found.sample_soft_bounces, found.hard_bounces) == (2, 2, 0)


def test_identity_notifications_are_read_from_the_emails_headers(cloud: Cloud) -> None:
    # Given SES's older format: notificationType, no tags, the original headers
    campaign = sent_campaign(cloud)
    notification = ses_event("bounce", addresses(1)[0], campaign)
    notification["notificationType"] = notification.pop("eventType")
    notification["mail"].pop("tags")

    feedback(cloud, notification)

    found = actions(cloud).get(ACCOUNT, campaign.campaign_id)
    assert found.sample_hard_bounces == 1


def test_a_bounce_proves_an_unknown_send_went_out(cloud: Cloud) -> None:
    # Given an email whose SES answer was lost (its entry is unknown)
    campaign = sent_campaign(cloud)
    cloud.seed(["late@example.com"])
    ledger = SendLedger(cloud.table)
    ledger.claim(
        ACCOUNT,
        campaign.campaign_id,
        contact_key="late@example.com",
        email="late@example.com",
        phase=SendPhase.SAMPLE,
        attempt="x",
        now="t",
    )
    ledger.mark_unknown(ACCOUNT, campaign.campaign_id, "late@example.com", error="ReadTimeoutError")

    # When SES reports its bounce
    feedback(cloud, ses_event("bounce", "late@example.com", campaign))

    # Then it was sent after all, and the sample's count has it
    entry = ledger.get(ACCOUNT, campaign.campaign_id, "late@example.com")
    assert entry is not None and entry.state is SendState.SENT
    assert ledger.counts(ACCOUNT, campaign.campaign_id, phase=SendPhase.SAMPLE).sent == 3


def test_opens_and_clicks_are_kept_on_the_contact_and_only_move_forward(cloud: Cloud) -> None:
    campaign = sent_campaign(cloud)
    address = addresses(1)[0]

    feedback(
        cloud,
        ses_event("open", address, campaign, at="2026-12-01T12:00:00.000Z"),
        ses_event("click", address, campaign, at="2026-12-01T12:01:00.000Z"),
        ses_event("open", address, campaign, at="2026-12-01T09:00:00.000Z"),  # an older one, late
    )

    contact = cloud.raw_item(f"ACCOUNT#{ACCOUNT}", f"CONTACT#{address}")
    assert (contact["last_open_at"], contact["last_click_at"]) == (
        "2026-12-01T12:00:00.000Z",
        "2026-12-01T12:01:00.000Z",
    )


def test_what_is_not_a_campaign_emails_feedback_changes_nothing(cloud: Cloud) -> None:
    campaign = sent_campaign(cloud)
    before = cloud.items()
    untagged = ses_event("bounce", addresses(1)[0], campaign)
    untagged["mail"]["tags"] = {}
    untagged["mail"]["headers"] = []
    confirmation = {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "ok"}
    no_address = ses_event("bounce", addresses(1)[0], campaign)
    no_address["bounce"]["bouncedRecipients"][0]["emailAddress"] = " "

    results = feedback(cloud, untagged, confirmation, no_address)

    assert cloud.items() == before
    assert all(result["ignored"] for result in results)
